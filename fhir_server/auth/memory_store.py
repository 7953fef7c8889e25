"""In-memory adapters of the auth ports: thread-safe dictionaries.

``MemoryAuthStore`` is the durable store for tests (and the base of ``FileAuthStore``);
``MemoryExpiringStore`` keeps short-lived state for tests. Both live in one process: the
server uses ``FileAuthStore`` and ``SqliteExpiringStore``, which every process shares.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

from fhir_server.auth.ports import Clock, Document

_PURGE_EVERY = 256


class MemoryAuthStore:
    """Documents in dictionaries, guarded by one lock. Implements ``AuthStore``."""

    def __init__(self, data: dict[str, dict[str, Document]] | None = None) -> None:
        """Create a store, optionally seeded with ``{collection: {key: document}}``."""
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Document]] = copy.deepcopy(data or {})

    def get(self, collection: str, key: str) -> Document | None:
        """The document, or None when absent."""
        with self._lock:
            found = self._data.get(collection, {}).get(key)
            return copy.deepcopy(found) if found is not None else None

    def put(self, collection: str, key: str, document: Document) -> None:
        """Insert or replace a document."""
        with self._lock:
            self._data.setdefault(collection, {})[key] = copy.deepcopy(document)
            self._changed()

    def pop(self, collection: str, key: str) -> Document | None:
        """Remove and return a document atomically."""
        with self._lock:
            found = self._data.get(collection, {}).pop(key, None)
            if found is not None:
                self._changed()
            return found

    def items(self, collection: str) -> Iterator[tuple[str, Document]]:
        """A snapshot of every (key, document) of a collection."""
        with self._lock:
            snapshot = copy.deepcopy(self._data.get(collection, {}))
        return iter(snapshot.items())

    def _snapshot(self) -> dict[str, dict[str, Document]]:
        """All collections; call with the lock held."""
        return self._data

    def _changed(self) -> None:
        """Hook run with the lock held after every mutation; persistence overrides it."""


class MemoryExpiringStore:
    """Expiring documents in a dictionary, guarded by one lock. Implements ``ExpiringStore``."""

    def __init__(self, clock: Clock) -> None:
        """Create an empty store reading time from ``clock``."""
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str], tuple[float, Document]] = {}
        self._writes = 0

    def put(self, kind: str, key: str, document: Document, expires_at: float) -> None:
        """Insert or replace a document until ``expires_at``."""
        with self._lock:
            self._data[(kind, key)] = (expires_at, copy.deepcopy(document))
            self._after_write()

    def get(self, kind: str, key: str) -> Document | None:
        """The live document, or None."""
        with self._lock:
            found = self._live((kind, key))
            return copy.deepcopy(found) if found is not None else None

    def take(self, kind: str, key: str) -> Document | None:
        """Remove and return a live document atomically."""
        with self._lock:
            found = self._live((kind, key))
            self._data.pop((kind, key), None)
            return found

    def add_once(self, kind: str, key: str, expires_at: float) -> bool:
        """Remember ``key``; False when it is already remembered."""
        with self._lock:
            if self._live((kind, key)) is not None:
                return False
            self._data[(kind, key)] = (expires_at, {})
            self._after_write()
            return True

    def _live(self, slot: tuple[str, str]) -> Document | None:
        entry = self._data.get(slot)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._data[slot]
            return None
        return entry[1]

    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            now = self._clock()
            for slot in [s for s, (expires_at, _) in self._data.items() if expires_at <= now]:
                del self._data[slot]
