"""The WAL is checkpointed by its own thread, so writers rarely copy the log themselves."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from fhir_server.core.ports import VersionWrite
from fhir_server.model.instant import now
from fhir_server.storage.sqlite.checkpoint import WRITER_AUTOCHECKPOINT, Checkpointer
from fhir_server.storage.sqlite.schema import connect
from fhir_server.storage.sqlite.store import SqliteResourceStore


def basic(id_: str) -> VersionWrite:
    content = b'{"resourceType":"Basic","id":"' + id_.encode() + b'"}'
    return VersionWrite("Basic", id_, 1, now(), "POST", content, 0, ())


def in_database_file(path: Path, id_: str) -> bool:
    """Whether the row is in the database file itself, not only in the log."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)  # reads the file, not the WAL
    try:
        row = conn.execute("SELECT 1 FROM resources WHERE id = ?", (id_,)).fetchone()
    except sqlite3.OperationalError:  # even the schema is only in the log yet
        return False
    finally:
        conn.close()
    return row is not None


def test_the_thread_copies_committed_writes_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "fhir.db"
    store = SqliteResourceStore(path)
    try:
        store.write([basic("b1")])
        assert store.read("Basic", "b1") is not None
        deadline = time.monotonic() + 10
        while not in_database_file(path, "b1"):
            assert time.monotonic() < deadline, "the log was never checkpointed"
            time.sleep(0.05)
    finally:
        store.close()


def test_the_writer_checkpoints_only_as_a_backstop(tmp_path: Path) -> None:
    store = SqliteResourceStore(tmp_path / "fhir.db")
    try:
        (pages,) = store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert pages == WRITER_AUTOCHECKPOINT
    finally:
        store.close()


def test_a_checkpoint_reports_the_log_copied_and_close_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "fhir.db"
    store = SqliteResourceStore(path)
    store.write([basic("b2")])
    checkpointer = Checkpointer(connect(str(path), "FULL"), interval=60)
    length, done = checkpointer.checkpoint()
    assert length == done
    checkpointer.close()
    assert not checkpointer._thread.is_alive()
    store.close()
