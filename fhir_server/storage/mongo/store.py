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

MongoDB aborts a transaction on any error inside it, so once a driver error has escaped a
bound store, every later call of that unit raises the same port error again (a unit that
lost a write conflict stays a 409 when the core retries inside it, instead of becoming
"NoSuchTransaction").

Collections: a plain ``write`` creates a type's collection and indexes first, outside its
transaction. A unit must not do that: a collection created outside while the unit's
snapshot is open makes the unit fail (SnapshotUnavailable). So a unit's first write of a
never-seen type creates the collection implicitly inside the unit (MongoDB 4.4+, any read
concern, not in a cross-shard transaction), and its indexes follow after the commit; a
failure there is logged, not reported, because the unit is already committed.

Connections: ``from_url`` lowers the server-selection and connect timeouts to 5 s unless
the URL sets them, so a down server is a prompt 503 (and a failing /health/ready) rather
than a 30 s hang. Every read goes to the primary whatever the URL's read preference, since
conditional and version-aware interactions read their own writes; the outbox is read
with read concern "majority", so a consumer never sees an event that a failover could
roll back (and then reuse its sequence number).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

from pymongo import ASCENDING, MongoClient, ReadPreference, uri_parser
from pymongo.client_session import ClientSession
from pymongo.errors import ConfigurationError, PyMongoError
from pymongo.read_concern import ReadConcern

from fhir_server.core.ports import (
    HistoryQuery,
    Method,
    OutboxEvent,
    Page,
    StoredVersion,
    VersionWrite,
)
from fhir_server.errors import FhirError, StorageUnavailable
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
from fhir_server.storage.mongo.writes import (
    TRANSACTION_OPTIONS,
    apply_writes,
    commit,
    run_transaction,
)

DEFAULT_DATABASE: Final = "fhir"
DEFAULT_TIMEOUTS_MS: Final[dict[str, Any]] = {
    "serverSelectionTimeoutMS": 5000,
    "connectTimeoutMS": 5000,
}
"""Connection options ``from_url`` sets when the URL leaves them out (PyMongo: 30 s, 20 s)."""

_log = logging.getLogger(__name__)


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
        self._db = client.get_database(database, read_preference=ReadPreference.PRIMARY)
        self._session = session
        self._prepared: set[str] = set()
        self._written: set[str] = set()
        self._aborted: FhirError | None = None

    @classmethod
    def from_url(cls, url: str) -> MongoResourceStore:
        """Connect to ``mongodb://host[:port]/<database>`` (default database "fhir") and prepare.

        Raises:
            ValueError: ``url`` is not a valid MongoDB connection string.
            StorageUnavailable: MongoDB is unreachable or cannot run transactions.
        """
        try:
            parsed = uri_parser.parse_uri(url)
            database = parsed["database"] or DEFAULT_DATABASE
            defaults = {k: v for k, v in DEFAULT_TIMEOUTS_MS.items() if k not in parsed["options"]}
            client: MongoClient[Doc] = MongoClient(
                url, tz_aware=True, appname="fhir-server", **defaults
            )
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
        """Raise ``StorageUnavailable`` unless writes reach a replica-set primary or a mongos.

        Also refused: a direct connection to a secondary (``directConnection=true``), where
        every write would fail. (PyMongo itself refuses servers older than MongoDB 4.4, the
        version that can create a collection inside a transaction; see ``errors``.)
        """
        with translated():
            hello = self._client.admin.command("hello")
        if not hello.get("setName") and hello.get("msg") != "isdbgrid":
            raise StorageUnavailable(REPLICA_SET_MESSAGE, code="mongo-no-replica-set")
        if not hello.get("isWritablePrimary", hello.get("ismaster", False)):
            raise StorageUnavailable(
                "the MongoDB URL reaches a replica-set member that is not the primary;"
                " name the replica set (replicaSet=...) instead of directConnection=true",
                code="mongo-not-primary",
            )

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """The current version (possibly a deletion), or None when the id never existed."""
        collection = self._db[collection_name(resource_type)]
        with self._driver():
            doc = collection.find_one({"_id": id}, VERSION_FIELDS, session=self._session)
        return None if doc is None else stored_version(resource_type, id, doc)

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        """One version, or None when it does not exist."""
        key = {"type": resource_type, "id": id, "version_id": version_id}
        with self._driver():
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
            with self._driver():
                apply_writes(self._db, self._session, writes, check_first=True)
            self._written |= resource_types
            return
        self._prepare_types(resource_types)
        with translated():
            run_transaction(self._client, self._db, writes)

    def search(self, query: Query) -> Page:
        """Current, non-deleted resources matching ``query``, one page of them."""
        with self._driver():
            return run_search(self._db, self._session, query)

    def history(self, query: HistoryQuery) -> Page:
        """Versions newest first, one page of them, with the total count."""
        with self._driver():
            return run_history(self._db, self._session, query)

    def explain(self, query: Query) -> str:
        """The aggregation pipeline per collection, as extended JSON."""
        with self._driver():
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
            with unit._driver():
                commit(session)
        finally:
            session.end_session()
        try:
            self._prepare_types(unit._written)
        except FhirError as exc:
            _log.warning("indexes of %s not created after commit: %s", unit._written, exc)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """Outbox events with a sequence number above ``seq``, oldest first."""
        if limit <= 0:
            return []
        outbox = self._db.get_collection(OUTBOX, read_concern=ReadConcern("majority"))
        with self._driver():
            cursor = (
                outbox.find({"seq": {"$gt": seq}}, {"_id": 0}, session=self._session)
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

    @contextmanager
    def _driver(self) -> Iterator[None]:
        """``translated()``; in a unit, a driver error also ends the unit for good."""
        if self._aborted is not None:
            raise type(self._aborted)(self._aborted.diagnostics, code=self._aborted.code)
        try:
            with translated():
                yield
        except FhirError as exc:
            if self._session is not None and isinstance(exc.__cause__, PyMongoError):
                self._aborted = exc
            raise

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
