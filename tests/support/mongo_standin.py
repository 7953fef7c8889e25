"""TEST DOUBLE: an in-memory MongoDB stand-in for the Mongo adapter's contract tests.

It is NOT MongoDB and passing against it proves nothing about a real server: it is
``mongomock`` (the sync PyMongo API over Python dicts) plus the one thing the adapter needs
that mongomock lacks, multi-document transactions:

* ``client.start_session()`` returns a session whose ``start_transaction()`` /
  ``with_transaction()`` / ``commit_transaction()`` / ``abort_transaction()`` behave like
  PyMongo's. The first time an operation of the transaction touches a database, every
  collection of that database is deep-copied; an abort puts the copies back. Collections
  created meanwhile are emptied (the adapter creates collections outside transactions).
* Transactions are serialised by one re-entrant lock held from start to commit/abort, so
  concurrent tests see serial transactions. There is no isolation: operations outside a
  transaction (and nested sessions on the same thread) see uncommitted writes, and there
  are no write conflicts. Tests of isolation need a real replica set.
* ``hello`` answers as a replica-set primary (``replica_set=False`` answers as a
  standalone, to test the adapter's replica-set check).

Set ``FHIR_SERVER_TEST_MONGODB_URL`` (a replica set) to run the same tests for real.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, cast

import mongomock
from pymongo import MongoClient
from pymongo.errors import InvalidOperation

from fhir_server.storage.mongo.store import MongoResourceStore

T = TypeVar("T")

STANDIN_SET_NAME = "mongomock-standin"


class StandinClient:
    """A mongomock client with sessions and snapshot/restore transactions (test double)."""

    def __init__(self, *, replica_set: bool = True) -> None:
        self._mock: Any = mongomock.MongoClient(tz_aware=True)
        self._replica_set = replica_set
        self.lock = threading.RLock()

    def __getitem__(self, name: str) -> StandinDatabase:
        return self.get_database(name)

    def get_database(self, name: str, **_options: Any) -> StandinDatabase:
        return StandinDatabase(self._mock[name], self._replica_set)

    @property
    def admin(self) -> StandinDatabase:
        return self.get_database("admin")

    def start_session(self, **_options: Any) -> StandinSession:
        return StandinSession(self)

    def drop_database(self, name: str) -> None:
        self._mock.drop_database(name)

    def close(self) -> None:
        self._mock.close()


class StandinDatabase:
    """A mongomock database whose collections accept (and honour) ``session=``."""

    def __init__(self, mock: Any, replica_set: bool) -> None:
        self._mock = mock
        self._replica_set = replica_set
        self.name: str = mock.name

    def __getitem__(self, name: str) -> StandinCollection:
        return self.get_collection(name)

    def get_collection(self, name: str, **_options: Any) -> StandinCollection:
        return StandinCollection(self, self._mock[name])

    def list_collection_names(self, **_options: Any) -> list[str]:
        return list(self._mock.list_collection_names())

    def command(self, command: str | dict[str, Any], **_options: Any) -> dict[str, Any]:
        name = command if isinstance(command, str) else next(iter(command))
        if name in ("hello", "isMaster", "ismaster"):
            reply: dict[str, Any] = {"ok": 1.0, "isWritablePrimary": True}
            if self._replica_set:
                reply["setName"] = STANDIN_SET_NAME
            return reply
        return cast(dict[str, Any], self._mock.command(command))

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Deep copies of every collection's documents."""
        return {
            name: copy.deepcopy(list(self._mock[name].find({})))
            for name in self._mock.list_collection_names()
        }

    def restore(self, saved: dict[str, list[dict[str, Any]]]) -> None:
        """Put every collection back as ``snapshot`` found it (indexes stay)."""
        for name in self._mock.list_collection_names():
            collection = self._mock[name]
            collection.delete_many({})
            if saved.get(name):
                collection.insert_many(copy.deepcopy(saved[name]))


class StandinCollection:
    """Forwards to mongomock; a ``session=`` argument enrols the database in its transaction."""

    def __init__(self, database: StandinDatabase, mock: Any) -> None:
        self._database = database
        self._mock = mock

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._mock, name)
        if not callable(target):
            return target

        def call(*args: Any, session: StandinSession | None = None, **kwargs: Any) -> Any:
            if session is not None:
                session.enrol(self._database)
            # mongomock edits some arguments in place (it adds _id to projections).
            return target(*copy.deepcopy(args), **copy.deepcopy(kwargs))

        return call


class StandinSession:
    """PyMongo's ClientSession transaction API over snapshot/restore (test double)."""

    def __init__(self, client: StandinClient) -> None:
        self._client = client
        self._snapshots: dict[str, tuple[StandinDatabase, dict[str, Any]]] | None = None

    @property
    def in_transaction(self) -> bool:
        return self._snapshots is not None

    def enrol(self, database: StandinDatabase) -> None:
        """Snapshot ``database`` before this transaction's first operation on it."""
        if self._snapshots is not None and database.name not in self._snapshots:
            self._snapshots[database.name] = (database, database.snapshot())

    def start_transaction(self, **_options: Any) -> _Transaction:
        if self._snapshots is not None:
            raise InvalidOperation("Transaction already in progress")
        self._client.lock.acquire()
        self._snapshots = {}
        return _Transaction(self)

    def commit_transaction(self) -> None:
        self._finish()

    def abort_transaction(self) -> None:
        for database, saved in self._finish().values():
            database.restore(saved)

    def with_transaction(self, callback: Callable[[StandinSession], T], **_options: Any) -> T:
        self.start_transaction()
        try:
            result = callback(self)
        except BaseException:
            self.abort_transaction()
            raise
        self.commit_transaction()
        return result

    def end_session(self) -> None:
        if self.in_transaction:
            self.abort_transaction()

    def __enter__(self) -> StandinSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.end_session()

    def _finish(self) -> dict[str, tuple[StandinDatabase, dict[str, Any]]]:
        if self._snapshots is None:
            raise InvalidOperation("No transaction started")
        snapshots, self._snapshots = self._snapshots, None
        self._client.lock.release()
        return snapshots


class _Transaction:
    """``with session.start_transaction():`` commits on success, aborts on an exception."""

    def __init__(self, session: StandinSession) -> None:
        self._session = session

    def __enter__(self) -> _Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if not self._session.in_transaction:
            return
        if exc_type is None:
            self._session.commit_transaction()
        else:
            self._session.abort_transaction()


def open_standin_store(*, replica_set: bool = True) -> MongoResourceStore:
    """A prepared MongoResourceStore on a fresh, empty in-memory stand-in."""
    client = cast("MongoClient[dict[str, Any]]", StandinClient(replica_set=replica_set))
    store = MongoResourceStore(client, "fhir")
    if replica_set:
        store.prepare()
    return store


class _ThrowawayStore(MongoResourceStore):
    """A store on a uniquely named database that ``close`` drops."""

    def __init__(self, client: MongoClient[dict[str, Any]], database: str) -> None:
        super().__init__(client, database)
        self._throwaway = (client, database)

    def close(self) -> None:
        client, database = self._throwaway
        client.drop_database(database)
        super().close()


def open_real_store(url: str) -> MongoResourceStore:
    """A prepared store on a new database of the real MongoDB at ``url``, dropped on close."""
    client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True)
    store = _ThrowawayStore(client, f"fhir_test_{uuid.uuid4().hex[:12]}")
    store.prepare()
    return store
