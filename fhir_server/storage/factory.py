"""Open the ResourceStore a database URL names."""

from __future__ import annotations

from fhir_server.core.ports import ResourceStore


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> ResourceStore:
    """``sqlite:///path`` (or ``sqlite:///:memory:``) or ``mongodb://host/db``."""
    if url.startswith("sqlite:///"):
        from fhir_server.storage.sqlite.store import SqliteResourceStore

        return SqliteResourceStore(url.removeprefix("sqlite:///"), synchronous=sqlite_synchronous)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from fhir_server.storage.mongo.store import MongoResourceStore

        store = MongoResourceStore.from_url(url)
        store.check_transactions()
        return store
    raise ValueError(f"Unsupported database URL {url!r}: use sqlite:///path or mongodb://host/db")
