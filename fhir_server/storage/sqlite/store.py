"""The SQLite ResourceStore: WAL, one serialized writer, durable before acknowledging.

Writes take a thread lock, then an exclusive ``flock`` on ``<db>.writer.lock`` (several
server processes may share one database), then run ``BEGIN IMMEDIATE`` on the writer
connection. The file lock wakes a waiting process as soon as the holder commits, where
SQLite's busy handler would sleep 1, 2, 5, 10... ms. Single writes of concurrent requests are
group-committed (``group.py``); transactions hold the lock to their end. Version checks and
conditional matches run inside the transaction, so they hold across processes. Reads use one
connection per thread and never block on the writer (WAL). The log is checkpointed on its
own thread (``checkpoint.py``). docs/adr/0005-rest-hot-path.md.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fhir_server.core.ports import (
    HistoryQuery,
    OutboxEvent,
    Page,
    ResourceStore,
    StoredVersion,
    VersionWrite,
)
from fhir_server.errors import VersionConflict
from fhir_server.search.ir import Query
from fhir_server.storage.sqlite.checkpoint import WRITER_AUTOCHECKPOINT, Checkpointer
from fhir_server.storage.sqlite.errors import translated
from fhir_server.storage.sqlite.group import GroupCommit
from fhir_server.storage.sqlite.schema import connect, migrate
from fhir_server.storage.sqlite.session import SqliteSession

_READER_CACHE_KIB = -8192


class SqliteResourceStore:
    """ResourceStore on one SQLite database file."""

    backend = "sqlite"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        """Open (and create when missing) the database at ``path``."""
        self._path = str(path)
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._lock = threading.RLock()
        self._lock_fd: int | None = None
        if self._path != ":memory:":
            self._lock_fd = os.open(f"{self._path}.writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._checkpointer: Checkpointer | None = None
        with translated():
            self._writer = connect(self._path, synchronous)
            migrate(self._writer)
            if self._path != ":memory:":
                self._writer.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT}")
                self._checkpointer = Checkpointer(connect(self._path, synchronous))
        self._group = GroupCommit(self._writer, self._lock, self._process_lock)

    def _reader(self) -> SqliteSession:
        session: SqliteSession | None = getattr(self._local, "session", None)
        if session is None:
            with translated():
                conn = connect(self._path, self._synchronous)
                # One reader per worker thread (40 by default): a small page cache each;
                # the OS page cache and mmap are shared.
                conn.execute(f"PRAGMA cache_size={_READER_CACHE_KIB}")
            with self._lock:
                self._readers.append(conn)
            session = SqliteSession(conn)
            self._local.session = session
        return session

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """See ResourceStore.read."""
        with translated():
            return self._reader().read(resource_type, id)

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        """See ResourceStore.vread."""
        with translated():
            return self._reader().vread(resource_type, id, version_id)

    def search(self, query: Query) -> Page:
        """See ResourceStore.search."""
        with translated():
            return self._reader().search(query)

    def history(self, query: HistoryQuery) -> Page:
        """See ResourceStore.history."""
        with translated():
            return self._reader().history(query)

    def explain(self, query: Query) -> str:
        """See ResourceStore.explain."""
        with translated():
            return self._reader().explain(query)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """See ResourceStore.outbox_after."""
        with translated():
            return self._reader().outbox_after(seq, limit)

    def write(self, writes: Sequence[VersionWrite]) -> None:
        """See ResourceStore.write: committed with the writes of concurrent callers."""
        self._group.write(writes)

    @contextmanager
    def transaction(self) -> Iterator[ResourceStore]:
        """See ResourceStore.transaction: holds the write lock until commit or rollback."""
        with self._lock, self._process_lock(), translated():
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                tx = SqliteTransaction(SqliteSession(self._writer))
                yield tx
                tx.flush()
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """The exclusive writer lock shared by every process on this database file."""
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def ping(self) -> None:
        """See ResourceStore.ping."""
        with translated():
            self._reader().conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()

    def close(self) -> None:
        """See ResourceStore.close."""
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        with self._lock:
            for conn in [*self._readers, self._writer]:
                conn.close()
            self._readers.clear()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


class SqliteTransaction:
    """The store seen from inside a transaction: one connection, savepoint per write.

    A write creating a resource that is not stored yet is checked at once and kept back:
    the kept creations are inserted together (``SqliteSession.insert_new``) before anything
    reads what they would change, before a savepoint opens and before the commit
    (``flush``). A savepoint rolled back forgets those it kept.
    """

    backend = "sqlite"

    def __init__(self, session: SqliteSession) -> None:
        """Wrap the writer session of an open transaction."""
        self._session = session
        self._savepoints = 0
        self._created: dict[tuple[str, str], VersionWrite] = {}

    def flush(self) -> None:
        """Insert the creations kept back, after checking that none of them is stored."""
        if self._created:
            writes = list(self._created.values())
            self._created.clear()
            for w in self._session.stored_among(writes):
                raise VersionConflict(
                    f"{w.resource_type}/{w.id} is stored already, not new",
                    code="version-conflict",
                )
            self._session.insert_new(writes)

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """See ResourceStore.read."""
        if (resource_type, id) in self._created:
            self.flush()
        return self._session.read(resource_type, id)

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        """See ResourceStore.vread."""
        if (resource_type, id) in self._created:
            self.flush()
        return self._session.vread(resource_type, id, version_id)

    def search(self, query: Query) -> Page:
        """See ResourceStore.search."""
        self.flush()
        return self._session.search(query)

    def history(self, query: HistoryQuery) -> Page:
        """See ResourceStore.history."""
        self.flush()
        return self._session.history(query)

    def explain(self, query: Query) -> str:
        """See ResourceStore.explain."""
        self.flush()
        return self._session.explain(query)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """See ResourceStore.outbox_after."""
        self.flush()
        return self._session.outbox_after(seq, limit)

    def write(self, writes: Sequence[VersionWrite]) -> None:
        """Apply ``writes`` all-or-nothing inside the open transaction."""
        if len(writes) == 1 and self._creates(writes[0]):
            self._created[writes[0].resource_type, writes[0].id] = writes[0]
            return
        self.flush()
        with self.transaction():
            self._session.apply(writes)

    def _creates(self, w: VersionWrite) -> bool:
        """True for the first version of a resource not kept back (checked stored at flush)."""
        return (
            w.expected_version == 0
            and w.content is not None
            and (w.resource_type, w.id) not in self._created
        )

    @contextmanager
    def transaction(self) -> Iterator[ResourceStore]:
        """A nested unit: a savepoint rolled back on error."""
        self.flush()
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        conn = self._session.conn
        with translated():
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                self._created.clear()
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            conn.execute(f"RELEASE {name}")

    def ping(self) -> None:
        """See ResourceStore.ping."""

    def close(self) -> None:
        """Closing belongs to the owning store."""
