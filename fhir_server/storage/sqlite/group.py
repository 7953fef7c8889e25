"""Group commit: concurrent single writes share one SQLite transaction and one fsync.

A writer queues its writes, then waits for the writer lock. The first to get it (the leader)
commits every queued write in one ``BEGIN IMMEDIATE ... COMMIT``, each inside its own
SAVEPOINT: a failing write is rolled back alone and its error goes to its own caller. A
writer whose writes a leader has already committed finds them done once it gets the lock and
returns at once. Nobody returns before the COMMIT has returned (with ``synchronous=FULL``:
after the fsync). A commit costs about 0.3 ms of CPU whatever it holds, so sharing it is the
cheapest write there is (docs/adr/0005-rest-hot-path.md).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from fhir_server.core.ports import VersionWrite
from fhir_server.errors import StorageUnavailable
from fhir_server.storage.sqlite.errors import translate, translated
from fhir_server.storage.sqlite.session import SqliteSession


@dataclass(slots=True, eq=False)
class _Pending:
    """One caller's writes, and what became of them."""

    writes: Sequence[VersionWrite]
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Commits the single writes of concurrent callers together, each isolated by a savepoint."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        exclusive: Callable[[], AbstractContextManager[None]],
    ) -> None:
        """Write on ``conn`` while holding ``lock`` (threads) and ``exclusive()`` (processes)."""
        self._conn = conn
        self._lock = lock
        self._exclusive = exclusive
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()

    def write(self, writes: Sequence[VersionWrite]) -> None:
        """Apply ``writes`` all-or-nothing; return once they are committed, or raise."""
        pending = _Pending(writes)
        with self._queue_lock:
            self._queue.append(pending)
        with self._lock:
            if not pending.done:
                self._commit_queued()
        if pending.error is not None:
            raise pending.error

    def _commit_queued(self) -> None:
        with self._queue_lock:
            batch, self._queue = self._queue, []
        committed = False
        failure: BaseException | None = None
        try:
            with self._exclusive(), translated():
                self._transaction(batch)
            committed = True
        except Exception as exc:
            failure = exc
        finally:
            for pending in batch:
                if not committed and pending.error is None:
                    pending.error = failure or StorageUnavailable("The write was not committed")
                pending.done = True

    def _transaction(self, batch: list[_Pending]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for pending in batch:
                self._apply(pending)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _apply(self, pending: _Pending) -> None:
        conn = self._conn
        conn.execute("SAVEPOINT one_write")
        try:
            SqliteSession(conn).apply(pending.writes)
        except Exception as exc:
            if not conn.in_transaction:  # SQLite gave up the whole transaction
                raise
            conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
            pending.error = exc
            if isinstance(exc, sqlite3.DatabaseError):
                pending.error = translate(exc)
                pending.error.__cause__ = exc
            return
        conn.execute("RELEASE one_write")
