"""WAL checkpoints on their own thread, off the writers' path.

SQLite checkpoints the write-ahead log in the connection that commits once the log passes
``wal_autocheckpoint`` pages (1,000 by default): every few commits of a busy writer, one of
them also copies the log into the database file and fsyncs it, and its caller waits 10 ms
instead of 2 (docs/adr/0007-ingestion-throughput.md). Here a :class:`Checkpointer` thread
runs ``PASSIVE`` checkpoints on its own connection every ``interval`` seconds. SQLite
releases the GIL while it copies, so the work runs on another core; a passive checkpoint
never waits for readers or writers (a blocking mode could stall every writer behind one long
read). The writer still checkpoints, every ``WRITER_AUTOCHECKPOINT`` pages: by then the
thread has copied all but the last ``interval`` seconds of the log, so the writer copies
little, and its complete checkpoint lets the next transaction start the log from its
beginning again (a busy writer leaves the thread no moment in which nothing is being
appended). A checkpoint after every commit was tried: its database fsyncs slowed the commits.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

WRITER_AUTOCHECKPOINT = 4_000
"""Log pages after which the committing writer checkpoints what the thread has not copied."""


class Checkpointer:
    """Checkpoints one database's write-ahead log on a daemon thread."""

    def __init__(self, conn: sqlite3.Connection, *, interval: float = 0.1) -> None:
        """Start checkpointing through ``conn``, a connection used by nothing else."""
        self._conn = conn
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int]:
        """One passive checkpoint.

        Returns:
            The log's length and how much of it is now in the database file, in pages.
        """
        ((_, length, done),) = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return int(length), int(done)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:  # busy or I/O: the next round (or the writer) copies
                log.warning("WAL checkpoint failed: %s", exc)

    def close(self) -> None:
        """Stop the thread and close its connection."""
        self._stopped.set()
        self._thread.join()
        self._conn.close()
