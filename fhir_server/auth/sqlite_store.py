"""``SqliteExpiringStore``: short-lived auth state shared by every server process.

Pending authorizations, authorization codes, EHR launch values, assertion ``jti`` values,
used codes and refresh tokens, and revocations live in ``<auth_dir>/state.db``: one SQLite
table of expiring rows, in WAL mode with ``synchronous=FULL``. So any process
(``fhir-server serve --workers N``, several servers over one data directory, the
``fhir-server auth`` commands) can finish a flow another one started, a single-use value is
used once across all of them, and a revocation is refused by every process on its next
request: ``get`` is one primary-key read, cheap enough for every access-token validation,
so nothing is cached.

Why SQLite inside ``auth`` (an exception to the import contract, see ADR 0006): this is the
authorization server's own small state file beside ``auth.json``, not the FHIR database,
and SQLite gives atomic single use (``DELETE ... RETURNING``, a conditional upsert) across
processes with no server to run. The file is created with mode 0600 (SQLite gives its
``-wal`` and ``-shm`` files the same mode).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from fhir_server.auth.ports import Clock, Document

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at REAL NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entry_expiry ON entry (expires_at);
"""
_UPSERT = (
    "INSERT INTO entry (kind, key, expires_at, document) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE SET expires_at = excluded.expires_at, "
    "document = excluded.document"
)
_PURGE_EVERY = 256
_BUSY_TIMEOUT = 10.0


class SqliteExpiringStore:
    """Expiring documents in one SQLite file. Implements ``ExpiringStore``.

    Each thread gets its own connection (readers never wait for writers in WAL mode);
    writers from every process serialize on SQLite's lock, waiting up to 10 s.
    """

    def __init__(self, path: Path, clock: Clock) -> None:
        """Open (or create) the store at ``path``, reading time from ``clock``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        self._path, self._clock = path, clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._writes = 0
        connection = self._connection()
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(_SCHEMA)
        self._purge()

    def put(self, kind: str, key: str, document: Document, expires_at: float) -> None:
        """Insert or replace a document until ``expires_at``."""
        self._connection().execute(_UPSERT, (kind, key, expires_at, json.dumps(document)))
        self._after_write()

    def get(self, kind: str, key: str) -> Document | None:
        """The live document, or None."""
        row = (
            self._connection()
            .execute(
                "SELECT document FROM entry WHERE kind = ? AND key = ? AND expires_at > ?",
                (kind, key, self._clock()),
            )
            .fetchone()
        )
        return _document(row[0]) if row else None

    def take(self, kind: str, key: str) -> Document | None:
        """Remove and return a live document; of concurrent takers in any process, one wins."""
        row = (
            self._connection()
            .execute(
                "DELETE FROM entry WHERE kind = ? AND key = ? RETURNING document, expires_at",
                (kind, key),
            )
            .fetchone()
        )
        if row is None or row[1] <= self._clock():
            return None
        return _document(row[0])

    def add_once(self, kind: str, key: str, expires_at: float) -> bool:
        """Remember ``key``; False when it is already remembered (in any process)."""
        cursor = self._connection().execute(
            f"{_UPSERT} WHERE entry.expires_at <= ?", (kind, key, expires_at, "{}", self._clock())
        )
        self._after_write()
        return cursor.rowcount == 1

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous = FULL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _after_write(self) -> None:
        with self._lock:
            self._writes += 1
            due = self._writes % _PURGE_EVERY == 0
        if due:
            self._purge()

    def _purge(self) -> None:
        self._connection().execute("DELETE FROM entry WHERE expires_at <= ?", (self._clock(),))


def _document(text: str) -> Document:
    document: Document = json.loads(text)
    return document
