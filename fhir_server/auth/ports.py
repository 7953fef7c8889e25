"""Ports: what the authorization server needs from persistence, time and the network.

Two stores with different durability needs (see ``docs`` in the package docstring):

* ``AuthStore``: durable JSON documents (clients, users, signing keys, refresh tokens).
  Adapters: ``MemoryAuthStore`` (tests) and ``FileAuthStore`` (a JSON file, atomic writes).
* ``ExpiringStore``: high-churn, short-lived state (pending authorizations, codes, launches,
  assertion ``jti`` values, revocations). Adapters: ``MemoryExpiringStore`` (tests, one
  process) and ``SqliteExpiringStore`` (production: shared by every process).

Documents are plain JSON objects so that any adapter (a file, a table, a collection) can
hold them; the typed records (``Client``, ``User``, ...) convert themselves to and from JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

Document = dict[str, Any]
"""A JSON object as stored."""

Clock = Callable[[], float]
"""Seconds since the epoch, e.g. ``time.time``; tests inject a fixed clock."""


class AuthStore(Protocol):
    """Durable documents grouped in named collections, keyed by a string."""

    def get(self, collection: str, key: str) -> Document | None:
        """The document, or None when absent."""
        ...

    def put(self, collection: str, key: str, document: Document) -> None:
        """Insert or replace a document."""
        ...

    def pop(self, collection: str, key: str) -> Document | None:
        """Remove and return a document atomically (None when absent): single use."""
        ...

    def items(self, collection: str) -> Iterator[tuple[str, Document]]:
        """A snapshot of every (key, document) of a collection."""
        ...


class ExpiringStore(Protocol):
    """Short-lived documents that vanish at their expiry time."""

    def put(self, kind: str, key: str, document: Document, expires_at: float) -> None:
        """Insert or replace a document until ``expires_at`` (epoch seconds)."""
        ...

    def get(self, kind: str, key: str) -> Document | None:
        """The live document, or None when absent or expired."""
        ...

    def take(self, kind: str, key: str) -> Document | None:
        """Remove and return a live document atomically: the basis of single-use values."""
        ...

    def add_once(self, kind: str, key: str, expires_at: float) -> bool:
        """Remember ``key`` until ``expires_at``; False when it was already remembered (replay)."""
        ...


class JwksFetcher(Protocol):
    """Fetches a JSON Web Key Set document from a URL (already checked against the allowlist)."""

    def __call__(self, url: str) -> Document:
        """The parsed JWKS; raises ``OSError`` or ``ValueError`` on failure."""
        ...
