"""The ``ExpiringStore`` contract, for the in-memory and the shared SQLite adapter.

Two ``SqliteExpiringStore`` objects over one file stand for two server processes.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from auth_fakes import FixedClock

from fhir_server.auth.memory_store import MemoryExpiringStore
from fhir_server.auth.ports import ExpiringStore
from fhir_server.auth.sqlite_store import SqliteExpiringStore

Opener = Callable[[], ExpiringStore]


@pytest.fixture(params=["memory", "sqlite"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> Callable[[], ExpiringStore]:
    if request.param == "memory":
        return lambda: MemoryExpiringStore(clock)
    return lambda: SqliteExpiringStore(tmp_path / "state.db", clock)


def test_documents_live_until_they_expire(open_store: Opener, clock: FixedClock) -> None:
    store = open_store()
    store.put("code", "k", {"v": 1}, clock() + 10)
    assert store.get("code", "k") == {"v": 1}
    store.put("code", "k", {"v": 2}, clock() + 10)
    assert store.get("code", "k") == {"v": 2}
    assert store.get("other", "k") is None
    clock.advance(10)
    assert store.get("code", "k") is None
    assert store.take("code", "k") is None


def test_take_is_single_use(open_store: Opener, clock: FixedClock) -> None:
    store = open_store()
    store.put("code", "k", {"v": 1}, clock() + 10)
    assert store.take("code", "k") == {"v": 1}
    assert store.take("code", "k") is None
    assert store.get("code", "k") is None


def test_add_once_refuses_a_live_key_and_accepts_an_expired_one(
    open_store: Opener, clock: FixedClock
) -> None:
    store = open_store()
    assert store.add_once("jti", "j", clock() + 10)
    assert not store.add_once("jti", "j", clock() + 10)
    clock.advance(10)
    assert store.add_once("jti", "j", clock() + 10)
    assert not store.add_once("jti", "j", clock() + 10)


def test_take_is_single_use_under_concurrency(open_store: Opener, clock: FixedClock) -> None:
    stores = [open_store() for _ in range(4)]
    stores[0].put("code", "k", {"v": 1}, clock() + 10)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.take("code", "k"))) for s in stores * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r for r in results if r is not None] == [{"v": 1}]


def test_memory_store_purges_expired_entries(clock: FixedClock) -> None:
    store = MemoryExpiringStore(clock)
    for i in range(300):
        store.put("code", str(i), {}, clock() + 1)
    clock.advance(2)
    for i in range(300):
        store.put("other", str(i), {}, clock() + 1)
    assert all(kind == "other" for kind, _ in store._data)


def test_sqlite_store_is_shared_between_processes_and_survives_a_restart(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "auth" / "state.db"
    first, second = SqliteExpiringStore(path, clock), SqliteExpiringStore(path, clock)
    first.put("code", "c", {"v": 1}, clock() + 60)
    assert first.add_once("jti", "j", clock() + 60)
    assert not second.add_once("jti", "j", clock() + 60)
    assert second.take("code", "c") == {"v": 1}
    assert first.take("code", "c") is None
    second.put("revoked_jti", "t", {}, clock() + 60)
    first.close()
    second.close()
    restarted = SqliteExpiringStore(path, clock)
    assert restarted.get("revoked_jti", "t") == {}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_store_purges_expired_rows(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "state.db"
    store = SqliteExpiringStore(path, clock)
    for i in range(300):
        store.put("code", str(i), {}, clock() + 1)
    clock.advance(2)
    store.put("code", "live", {}, clock() + 60)
    store.close()
    SqliteExpiringStore(path, clock).close()  # purges on open
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT key FROM entry").fetchall() == [("live",)]
