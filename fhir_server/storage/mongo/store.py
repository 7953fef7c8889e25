"""``MongoResourceStore``: the ``ResourceStore`` port on MongoDB (synchronous PyMongo).

https://hl7.org/fhir/R4/http.html. Document shapes are in ``documents``, the write path in
``writes``, search in ``searching``/``compile``, history in ``history`` and indexes (with
the shard keys) in ``indexes``.

Multi-document transactions need a replica set or a sharded cluster; ``check_transactions``
says so at startup instead of failing on the first write. A single-node replica set is
enough for development: ``mongod --replSet rs0`` then ``rs.initiate()`` in mongosh.

``transaction()`` binds a store to one session: its reads and searches see the unit's own
writes (snapshot read concern), and it commits on exit or aborts on an exception. A bound
store belongs to one thread (PyMongo sessions are not thread-safe) and must finish within
MongoDB's transaction lifetime limit (``transactionLifetimeLimitSeconds``, 60 s by default).

Collections: a plain ``write`` creates a type's collection and indexes first, outside its
transaction. A unit must not do that: a collection created outside while the unit's
snapshot is open makes the unit fail (SnapshotUnavailable). So a unit's first write of a
never-seen type creates the collection implicitly inside the unit (MongoDB 4.4+, not in
a cross-shard transaction), and its indexes follow after the commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

from pymongo import ASCENDING, MongoClient, uri_parser
from pymongo.client_session import ClientSession
from pymongo.errors import ConfigurationError

from fhir_server.core.ports import (
    HistoryQuery,
    Method,
    OutboxEvent,
    Page,
    StoredVersion,
    VersionWrite,
)
from fhir_server.errors import StorageUnavailable
from fhir_server.model.instant import from_micros
from fhir_server.search.ir import Query
from fhir_server.storage.mongo.documents import (
    HISTORY,
    OUTBOX,
    VERSION_FIELDS,
    Doc,
    collection_name,
    stored_version,
)
from fhir_server.storage.mongo.errors import REPLICA_SET_MESSAGE, translated
from fhir_server.storage.mongo.history import run_history
from fhir_server.storage.mongo.indexes import ensure_indexes, ensure_resource_indexes
from fhir_server.storage.mongo.searching import explain_search, run_search
from fhir_server.storage.mongo.writes import TRANSACTION_OPTIONS, apply_writes, commit

DEFAULT_DATABASE: Final = "fhir"


class MongoResourceStore:
    """Current versions, history, search indexes and the outbox in one MongoDB database."""

    backend: str = "mongo"

    def __init__(
        self,
        client: MongoClient[Doc],
        database: str = DEFAULT_DATABASE,
        *,
        session: ClientSession | None = None,
    ) -> None:
        """Use ``database`` through ``client``; no I/O happens until the first call.

        Args:
            client: a PyMongo client.
            database: the database name.
            session: run every operation in this session's transaction (``transaction()``
                builds such bound stores; most callers leave it out).
        """
        self._client = client
        self._db = client.get_database(database)
        self._session = session
        self._prepared: set[str] = set()
        self._written: set[str] = set()

    @classmethod
    def from_url(cls, url: str) -> MongoResourceStore:
        """Connect to ``mongodb://host[:port]/<database>`` (default database "fhir") and prepare.

        Raises:
            ValueError: ``url`` is not a valid MongoDB connection string.
            StorageUnavailable: MongoDB is unreachable or cannot run transactions.
        """
        try:
            database = uri_parser.parse_uri(url)["database"] or DEFAULT_DATABASE
            client: MongoClient[Doc] = MongoClient(url, tz_aware=True, appname="fhir-server")
        except ConfigurationError as exc:
            raise ValueError(f"invalid MongoDB URL: {exc}") from exc
        store = cls(client, database)
        try:
            store.prepare()
        except BaseException:
            client.close()
            raise
        return store

    def prepare(self) -> None:
        """Check that transactions work and create the shared indexes (idempotent).

        Raises:
            StorageUnavailable: MongoDB is unreachable or cannot run transactions.
        """
        self.check_transactions()
        with translated():
            ensure_indexes(self._db)

    def check_transactions(self) -> None:
        """Raise ``StorageUnavailable`` unless the server is a replica set member or mongos."""
        with translated():
            hello = self._client.admin.command("hello")
        if not hello.get("setName") and hello.get("msg") != "isdbgrid":
            raise StorageUnavailable(REPLICA_SET_MESSAGE, code="mongo-no-replica-set")

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """The current version (possibly a deletion), or None when the id never existed."""
        collection = self._db[collection_name(resource_type)]
        with translated():
            doc = collection.find_one({"_id": id}, VERSION_FIELDS, session=self._session)
        return None if doc is None else stored_version(resource_type, id, doc)

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        """One version, or None when it does not exist."""
        key = {"type": resource_type, "id": id, "version_id": version_id}
        with translated():
            doc = self._db[HISTORY].find_one(key, VERSION_FIELDS, session=self._session)
        return None if doc is None else stored_version(resource_type, id, doc)

    def write(self, writes: Sequence[VersionWrite]) -> None:
        """Store ``writes`` atomically with their history and outbox events, durably.

        Raises:
            VersionConflict: a write's ``expected_version`` is not the current version.
            StorageUnavailable: the database cannot be used.
        """
        if not writes:
            return
        resource_types = {w.resource_type for w in writes}
        if self._session is not None:
            with translated():
                apply_writes(self._db, self._session, writes, check_first=True)
            self._written |= resource_types
            return
        self._prepare_types(resource_types)
        with translated(), self._client.start_session() as session:
            session.with_transaction(
                lambda s: apply_writes(self._db, s, writes, check_first=False),
                **TRANSACTION_OPTIONS,
            )

    def search(self, query: Query) -> Page:
        """Current, non-deleted resources matching ``query``, one page of them."""
        with translated():
            return run_search(self._db, self._session, query)

    def history(self, query: HistoryQuery) -> Page:
        """Versions newest first, one page of them, with the total count."""
        with translated():
            return run_history(self._db, self._session, query)

    def explain(self, query: Query) -> str:
        """The aggregation pipeline per collection, as extended JSON."""
        with translated():
            return explain_search(self._db, self._session, query)

    @contextmanager
    def transaction(self) -> Iterator[MongoResourceStore]:
        """A store bound to one MongoDB transaction; a bound store joins its own unit."""
        if self._session is not None:
            yield self
            return
        with translated():
            session = self._client.start_session()
        unit = self._bound(session)
        try:
            with translated():
                session.start_transaction(**TRANSACTION_OPTIONS)
            yield unit
        except BaseException:
            if session.in_transaction:
                session.abort_transaction()
            raise
        else:
            with translated():
                commit(session)
        finally:
            session.end_session()
        self._prepare_types(unit._written)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """Outbox events with a sequence number above ``seq``, oldest first."""
        if limit <= 0:
            return []
        with translated():
            cursor = (
                self._db[OUTBOX]
                .find({"seq": {"$gt": seq}}, {"_id": 0}, session=self._session)
                .sort("seq", ASCENDING)
                .limit(limit)
            )
            return [_event(doc) for doc in cursor]

    def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers."""
        with translated():
            self._client.admin.command("ping")

    def close(self) -> None:
        """Release connections (a store bound to a transaction leaves them to its owner)."""
        if self._session is None:
            self._client.close()

    def _bound(self, session: ClientSession) -> MongoResourceStore:
        bound = MongoResourceStore(self._client, self._db.name, session=session)
        bound._prepared = self._prepared
        return bound

    def _prepare_types(self, resource_types: set[str]) -> None:
        for resource_type in sorted(resource_types - self._prepared):
            with translated():
                ensure_resource_indexes(self._db, resource_type)
            self._prepared.add(resource_type)


def _event(doc: dict[str, Any]) -> OutboxEvent:
    return OutboxEvent(
        seq=int(doc["seq"]),
        resource_type=str(doc["type"]),
        id=str(doc["id"]),
        version_id=int(doc["version_id"]),
        method=cast(Method, doc["method"]),
        recorded=from_micros(int(doc["ts"])),
    )
