"""Server-managed parts of a resource: id, ``meta.versionId``, ``meta.lastUpdated``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from fhir_server.model.instant import format_instant


def stamp(resource: dict[str, Any], id: str, version_id: int, last_updated: datetime) -> bytes:
    """The resource as stored: id and meta set by the server, client meta kept, JSON bytes."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = format_instant(last_updated)
    body = {"resourceType": resource["resourceType"], "id": id, "meta": meta}
    for key, value in resource.items():
        if key not in body:
            body[key] = value
    return orjson.dumps(body)
