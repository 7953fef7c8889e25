"""Group commit in the SQLite store: shared commits, isolated failures, nothing lost."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from fhir_server.core.ports import VersionWrite
from fhir_server.errors import VersionConflict
from fhir_server.model.instant import now
from fhir_server.storage.sqlite.store import SqliteResourceStore

CONTENT = b'{"resourceType":"Basic"}'


def basic(id_: str, version: int = 1) -> VersionWrite:
    """A write of Basic/``id_`` at ``version`` (expecting ``version - 1``)."""
    return VersionWrite("Basic", id_, version, now(), "PUT", CONTENT, version - 1)


@pytest.fixture
def store(tmp_path: Path) -> SqliteResourceStore:
    """A store on a fresh file."""
    return SqliteResourceStore(tmp_path / "fhir.db")


def _queued(store: SqliteResourceStore, count: int) -> None:
    """Wait until ``count`` writers wait in the group-commit queue."""
    for _ in range(500):
        if len(store._group._queue) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} writers never queued")


def test_a_failing_write_does_not_affect_the_others_in_its_group(
    store: SqliteResourceStore,
) -> None:
    store.write([basic("taken")])
    writes = [basic("a"), basic("taken"), basic("b"), basic("c")]
    with ThreadPoolExecutor(len(writes)) as pool:
        with store.transaction():  # holds the writer lock: every write below queues up
            futures: list[Future[None]] = [pool.submit(store.write, [w]) for w in writes]
            _queued(store, len(writes))
        errors = [f.exception(timeout=10) for f in futures]
    assert [type(e) for e in errors] == [type(None), VersionConflict, type(None), type(None)]
    for id_ in ("a", "b", "c", "taken"):
        version = store.read("Basic", id_)
        assert version is not None
        assert version.version_id == 1
    assert store.vread("Basic", "taken", 2) is None


def test_concurrent_writers_all_commit_with_contiguous_versions(
    store: SqliteResourceStore,
) -> None:
    lock = threading.Lock()
    versions = iter(range(1, 201))

    def bump() -> None:
        with lock:
            version = next(versions)
        for _ in range(200):
            try:
                store.write([basic("counter", version)])
                return
            except VersionConflict:
                time.sleep(0.001)
        raise AssertionError(f"version {version} never committed")

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(bump) for _ in range(40)]:
            future.result(timeout=30)
    current = store.read("Basic", "counter")
    assert current is not None
    assert current.version_id == 40
    for version in range(1, 41):
        assert store.vread("Basic", "counter", version) is not None


def test_writes_survive_reopening(tmp_path: Path) -> None:
    first = SqliteResourceStore(tmp_path / "fhir.db")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: first.write([basic(f"r{i}")]), range(20)))
    first.close()
    second = SqliteResourceStore(tmp_path / "fhir.db")
    assert all(second.read("Basic", f"r{i}") is not None for i in range(20))
