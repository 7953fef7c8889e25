"""Translation of ``sqlite3`` exceptions at the adapter boundary."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from fhir_server.errors import StorageUnavailable, VersionConflict


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise driver errors as port errors; nothing from sqlite3 crosses the port."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise VersionConflict("the resource was changed concurrently; retry") from exc
    except sqlite3.OperationalError as exc:
        raise StorageUnavailable(f"SQLite is not usable: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StorageUnavailable(f"SQLite failed: {exc}") from exc
