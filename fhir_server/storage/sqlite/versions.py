"""Rows of the resources and history tables to stored versions."""

from __future__ import annotations

from typing import Any

from fhir_server.core.ports import StoredVersion
from fhir_server.model.instant import from_micros


def to_version(row: Any) -> StoredVersion:
    """A stored version from a (type, id, version_id, last_updated, method, content) row."""
    type_, id_, version_id, last_updated, method, content = row[:6]
    return StoredVersion(
        type_,
        id_,
        version_id,
        from_micros(last_updated),
        method,
        None if content is None else bytes(content),
    )
