"""Translation of ``sqlite3`` exceptions at the adapter boundary."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from fhir_server.errors import FhirError, StorageUnavailable, VersionConflict


def translate(exc: sqlite3.DatabaseError) -> FhirError:
    """The port error for a driver error."""
    if isinstance(exc, sqlite3.IntegrityError):
        return VersionConflict("the resource was changed concurrently; retry")
    if isinstance(exc, sqlite3.OperationalError):
        return StorageUnavailable(f"SQLite is not usable: {exc}")
    return StorageUnavailable(f"SQLite failed: {exc}")


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise driver errors as port errors; nothing from sqlite3 crosses the port."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise translate(exc) from exc
