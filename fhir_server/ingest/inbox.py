"""The durable inbox: every raw message, written before any transport acknowledges it.

Its own SQLite file (``data_dir/inbox.db``), whatever the FHIR backend is, in WAL mode with
``synchronous=FULL``: a row is on disk when :meth:`Inbox.receive` returns (and a dead
letter when :meth:`Inbox.dead` returns). The message key is
unique, so a redelivered message finds its first row instead of adding one. A row moves
``received -> processed`` or ``received -> dead``; a dead row goes back to ``received``
when it is replayed. Rows left ``received`` by a crash are processed again on start-up.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

State = Literal["received", "processed", "dead"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id           TEXT PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    mapper       TEXT NOT NULL,
    transport    TEXT NOT NULL,
    source       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    payload      BLOB NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('received', 'processed', 'dead')),
    received_at  TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    result       TEXT
);
CREATE INDEX IF NOT EXISTS message_state ON message (state, received_at);
"""
_COLUMNS = (
    "id, key, mapper, transport, source, content_type, payload, state, received_at,"
    " updated_at, attempts, error, result"
)


def message_id(key: str) -> str:
    """The inbox id of a message key: stable, URL-safe, the same on every delivery."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One stored message and what became of it.

    Attributes:
        id: the inbox id (from the key).
        key: the message key.
        mapper: the mapper name (``hl7v2`` routes by MSH-9).
        transport: ``http``, ``mllp`` or ``mqtt``.
        source: peer address, topic or client.
        content_type: the media type it came with.
        payload: the raw bytes.
        state: received, processed or dead.
        received_at: first delivery.
        updated_at: last state change.
        attempts: how often processing ran.
        error: why it is dead: ``{"code", "reason", "location"}``.
        result: what processing did: ``{"entries": [...]}``.
    """

    id: str
    key: str
    mapper: str
    transport: str
    source: str
    content_type: str
    payload: bytes
    state: State
    received_at: datetime
    updated_at: datetime
    attempts: int
    error: dict[str, Any] | None
    result: dict[str, Any] | None

    def summary(self) -> dict[str, Any]:
        """The message without its payload, as JSON."""
        return {
            "id": self.id,
            "key": self.key,
            "mapper": self.mapper,
            "transport": self.transport,
            "source": self.source,
            "contentType": self.content_type,
            "state": self.state,
            "receivedAt": self.received_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "attempts": self.attempts,
            "error": self.error,
            "result": self.result,
        }


def _row(row: tuple[Any, ...]) -> InboxMessage:
    error = orjson.loads(row[11]) if row[11] else None
    result = orjson.loads(row[12]) if row[12] else None
    return InboxMessage(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        bytes(row[6]),
        row[7],
        datetime.fromisoformat(row[8]),
        datetime.fromisoformat(row[9]),
        row[10],
        error,
        result,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A delivery to store: its key, mapper name, transport, source, payload and type."""

    key: str
    mapper: str
    transport: str
    source: str
    payload: bytes
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Finished:
    """What processing did to one message: its new state, and the error or the result."""

    id: str
    state: State
    error: dict[str, Any] | None
    result: dict[str, Any] | None


@contextmanager
def _unit(cur: sqlite3.Cursor) -> Iterator[None]:
    """One transaction on an autocommit connection: committed, or rolled back on error."""
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


class InboxUnavailable(Exception):
    """The inbox could not store messages (disk full, I/O error): nothing was acknowledged."""


class Receipt:
    """Rows :meth:`Inbox.receive_soon` stored, and their commit, which may still run."""

    def __init__(self, rows: list[tuple[InboxMessage, bool]], commit: Future[None]) -> None:
        """Bind the rows to their commit."""
        self.rows = rows
        self._commit = commit

    def durable(self) -> None:
        """Wait until the rows are on disk.

        Raises:
            InboxUnavailable: the commit failed; the rows are not stored.
        """
        try:
            self._commit.result()
        except sqlite3.Error as exc:
            raise InboxUnavailable(f"the inbox could not store the messages: {exc}") from exc


class Inbox:
    """The inbox on one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the inbox at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()  # released by the committer thread after receive_soon
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="inbox-commit")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _cursor(self, *, durable: bool = True) -> Iterator[sqlite3.Cursor]:
        """A cursor whose writes are fsynced before they return, unless not ``durable``."""
        with self._lock:
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                yield self._db.cursor()
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    def receive(
        self,
        key: str,
        *,
        mapper: str,
        transport: str,
        source: str,
        payload: bytes,
        content_type: str = "",
    ) -> tuple[InboxMessage, bool]:
        """Store a message durably; a known key returns the stored one.

        Returns:
            The stored message and True when this delivery is the first.
        """
        return self.receive_many(
            [NewMessage(key, mapper, transport, source, payload, content_type)]
        )[0]

    def receive_many(self, messages: Sequence[NewMessage]) -> list[tuple[InboxMessage, bool]]:
        """Store several messages in one durable commit; known keys return the stored rows.

        Returns:
            Per message, in order: the stored row and True when this delivery is the first
            (a key given twice is first only the first time).
        """
        receipt = self.receive_soon(messages)
        receipt.durable()
        return receipt.rows

    def receive_soon(self, messages: Sequence[NewMessage]) -> Receipt:
        """Store several messages; their commit (and fsync) runs on the inbox's own thread.

        The rows are known at once; :meth:`Receipt.durable` waits for the commit, so a
        caller can map and write the messages meanwhile and acknowledge only after it.
        Every other use of the inbox waits for that commit.
        """
        now = _now()
        self._lock.acquire()
        try:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                rows = [self._insert(cur, m, now) for m in messages]
                commit = self._committer.submit(self._commit_and_release)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        except BaseException:
            self._lock.release()
            raise
        return Receipt(rows, commit)

    def _insert(self, cur: sqlite3.Cursor, m: NewMessage, now: str) -> tuple[InboxMessage, bool]:
        id = message_id(m.key)
        row = cur.execute(
            "INSERT OR IGNORE INTO message (id, key, mapper, transport, source,"
            " content_type, payload, state, received_at, updated_at)"
            f" VALUES (?,?,?,?,?,?,?,'received',?,?) RETURNING {_COLUMNS}",
            (id, m.key, m.mapper, m.transport, m.source, m.content_type, m.payload, now, now),
        ).fetchone()
        if row is not None:
            return _row(row), True
        known = cur.execute(f"SELECT {_COLUMNS} FROM message WHERE id = ?", (id,)).fetchone()
        return _row(known), False

    def _commit_and_release(self) -> None:
        """Commit the transaction :meth:`receive_soon` opened, then free the connection."""
        try:
            try:
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        finally:
            self._lock.release()

    def get(self, id: str) -> InboxMessage | None:
        """The message with inbox id ``id``."""
        with self._cursor() as cur:
            row = cur.execute(f"SELECT {_COLUMNS} FROM message WHERE id = ?", (id,)).fetchone()
        return _row(row) if row else None

    def list(self, state: State | None = None, *, limit: int = 100) -> list[InboxMessage]:
        """Messages, oldest first, optionally of one state."""
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM message {where} ORDER BY received_at, id LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many messages are in each state."""
        with self._cursor() as cur:
            rows = cur.execute("SELECT state, count(*) FROM message GROUP BY state").fetchall()
        return {"received": 0, "processed": 0, "dead": 0, **dict(rows)}

    def processed(self, id: str, result: dict[str, Any]) -> None:
        """Record that processing succeeded (see :meth:`finish_many`)."""
        self.finish_many([Finished(id, "processed", None, result)])

    def dead(self, id: str, error: dict[str, Any]) -> None:
        """Record that processing failed for good, and why."""
        self.finish_many([Finished(id, "dead", error, None)])

    def finish_many(self, outcomes: Sequence[Finished]) -> tuple[InboxMessage, ...]:
        """Record what processing did to several messages in one commit; their rows after.

        The commit is fsynced when a message became dead. ``processed`` alone is not: the
        resources themselves are durable in the FHIR store, and a row a power failure took
        back to ``received`` is processed again without effect.
        """
        if not outcomes:
            return ()
        now = _now()
        durable = any(o.state == "dead" for o in outcomes)
        update = (
            "UPDATE message SET state = ?, error = ?, result = ?, updated_at = ?,"
            f" attempts = attempts + 1 WHERE id = ? RETURNING {_COLUMNS}"
        )
        with self._cursor(durable=durable) as cur, _unit(cur):
            rows = [
                cur.execute(
                    update,
                    (
                        o.state,
                        orjson.dumps(o.error).decode() if o.error else None,
                        orjson.dumps(o.result).decode() if o.result else None,
                        now,
                        o.id,
                    ),
                ).fetchone()
                for o in outcomes
            ]
        return tuple(_row(r) for r in rows)

    def requeue(self, id: str) -> InboxMessage | None:
        """Put a dead message back to ``received`` (for a replay); None unless it is dead."""
        with self._cursor() as cur:
            cur.execute(
                "UPDATE message SET state = 'received', updated_at = ? WHERE id = ?"
                " AND state = 'dead'",
                (_now(), id),
            )
            if cur.rowcount != 1:
                return None
            row = cur.execute(f"SELECT {_COLUMNS} FROM message WHERE id = ?", (id,)).fetchone()
        return _row(row)

    def discard(self, id: str) -> None:
        """Forget a message that was refused before it was accepted (e.g. not authorized)."""
        with self._cursor() as cur:
            cur.execute("DELETE FROM message WHERE id = ? AND state = 'received'", (id,))

    def close(self) -> None:
        """Finish a running commit, then close the database."""
        self._committer.shutdown(wait=True)
        with self._lock:
            self._db.close()
