"""MongoDB-only behaviours of MongoResourceStore.

Runs on the in-memory stand-in (tests/support/mongo_standin.py, a test double) unless
FHIR_SERVER_TEST_MONGODB_URL names a real replica set; tests that need real isolation are
skipped on the stand-in with the reason shown.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import pytest
from pymongo import MongoClient
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConfigurationError,
    DocumentTooLarge,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from fhir_server.core.ports import HistoryQuery, VersionWrite
from fhir_server.errors import (
    InvalidRequest,
    PayloadTooLarge,
    StorageUnavailable,
    TooCostly,
    VersionConflict,
)
from fhir_server.search.index import (
    IndexEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.ir import (
    AllOf,
    AnyOf,
    Chain,
    Not,
    Query,
    RefMatch,
    SortKey,
    StringMatch,
    Term,
    TokenMatch,
    UriMatch,
)
from fhir_server.storage.mongo import resolve, writes
from fhir_server.storage.mongo import store as store_module
from fhir_server.storage.mongo.compile import compile_term
from fhir_server.storage.mongo.errors import REPLICA_SET_MESSAGE, translated
from fhir_server.storage.mongo.store import MongoResourceStore
from tests.factories import MONGO_URL
from tests.support.mongo_standin import StandinClient, StandinDatabase, open_standin_store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EVIL = ('{"$gt": ""}', "$where", "$ne", ".*", "^", "a.b", "$$ROOT", "x\\")
needs_real_server = pytest.mark.skipif(
    not MONGO_URL, reason="needs a real replica set: the stand-in has no isolation"
)


@pytest.fixture
def mongo() -> Iterator[tuple[MongoResourceStore, Any]]:
    """A prepared store and a handle on its database (to look at collections and indexes)."""
    if MONGO_URL:
        client: Any = MongoClient(MONGO_URL, tz_aware=True)
        name = f"fhir_test_{uuid.uuid4().hex[:12]}"
    else:
        client, name = StandinClient(), "fhir"
    store = MongoResourceStore(cast("MongoClient[dict[str, Any]]", client), name)
    store.prepare()
    yield store, client[name]
    if MONGO_URL:
        client.drop_database(name)
    store.close()


def write(
    resource_type: str,
    id: str,
    version: int = 1,
    *,
    index: tuple[IndexEntry, ...] = (),
    content: bytes | None = None,
    at: datetime = T0,
) -> VersionWrite:
    body = content or orjson.dumps({"resourceType": resource_type, "id": id})
    return VersionWrite(resource_type, id, version, at, "PUT", body, version - 1, index)


def ids(store: MongoResourceStore, *terms: Term, **query: Any) -> list[str]:
    types = query.pop("types", ("Patient",))
    page = store.search(Query(types, AllOf(terms), **query))
    return [e.id for e in page.entries]


def keys_of(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for value in doc.values() for k in keys_of(value)}
    if isinstance(doc, list):
        return {k for value in doc for k in keys_of(value)}
    return set()


def test_operator_shaped_search_values_are_compared_literally(mongo: Any) -> None:
    store, _ = mongo
    entries = [write("Patient", f"p{i}", index=_literal_entries(v)) for i, v in enumerate(EVIL)]
    store.write([*entries, write("Patient", "plain", index=_literal_entries("plain"))])
    for i, value in enumerate(EVIL):
        expected = [f"p{i}"]
        assert ids(store, TokenMatch("identifier", None, value)) == expected
        assert ids(store, StringMatch("name", value, "exact")) == expected
        assert ids(store, StringMatch("name", value)) == expected
        assert ids(store, StringMatch("name", value, "contains")) == expected
        assert ids(store, UriMatch("url", value, "below")) == expected
        assert ids(store, RefMatch("subject", "Patient", value)) == expected
    assert ids(store, TokenMatch("$where", None, "plain")) == []


def _literal_entries(value: str) -> tuple[IndexEntry, ...]:
    return (
        TokenEntry("identifier", "urn:x", value),
        StringEntry("name", value, value),
        ReferenceEntry("subject", "Patient", value),
        UriEntry("url", value),
    )


def test_compiled_filters_never_put_search_values_in_keys() -> None:
    term = AllOf(
        tuple(
            AnyOf(
                (
                    TokenMatch("code", v, v),
                    StringMatch("name", v, "contains"),
                    Not(RefMatch("s", v, v)),
                )
            )
            for v in EVIL
        )
    )
    assert keys_of(compile_term(term)).isdisjoint(EVIL)


def test_operator_shaped_ids_and_types_are_literal_or_refused(mongo: Any) -> None:
    store, _ = mongo
    store.write([write("Patient", "a")])
    assert store.read("Patient", '{"$gt": ""}') is None
    assert store.vread("Patient", "$where", 1) is None
    assert ids(store, TokenMatch("_id", None, '{"$gt": ""}')) == []
    for bad_type in ("system.users", "Patient.$cmd", "$where", "patient"):
        with pytest.raises(InvalidRequest):
            store.read(bad_type, "a")
        with pytest.raises(InvalidRequest):
            store.search(Query((bad_type,)))


def test_sort_parameter_codes_are_data_not_field_paths(mongo: Any) -> None:
    store, _ = mongo
    store.write(
        [
            write("Patient", "a", index=(StringEntry("$_id", "b", "b"),)),
            write("Patient", "b", index=(StringEntry("$_id", "a", "a"),)),
        ]
    )
    assert ids(store, sort=(SortKey("$_id", param_type="string"),)) == ["b", "a"]


def test_standalone_server_is_refused_with_the_replica_set_message() -> None:
    store = open_standin_store(replica_set=False)
    with pytest.raises(StorageUnavailable, match="replica set") as caught:
        store.check_transactions()
    assert caught.value.diagnostics == REPLICA_SET_MESSAGE
    assert "--replSet" in REPLICA_SET_MESSAGE
    store.close()


@pytest.mark.parametrize(
    ("driver_error", "expected", "text"),
    [
        (
            OperationFailure(
                "Transaction numbers are only allowed on a replica set member or mongos", 20
            ),
            StorageUnavailable,
            "replica set",
        ),
        (DuplicateKeyError("E11000 duplicate key"), VersionConflict, "exists"),
        (
            BulkWriteError({"writeErrors": [{"index": 0, "code": 11000}]}),
            VersionConflict,
            "exists",
        ),
        (OperationFailure("WriteConflict", 112), VersionConflict, "concurrent"),
        (ServerSelectionTimeoutError("no servers"), StorageUnavailable, "unreachable"),
        (OperationFailure("something else", 2), Exception, "code 2"),
    ],
)
def test_driver_errors_are_translated(
    driver_error: Exception, expected: type[Exception], text: str
) -> None:
    with pytest.raises(expected, match=text) as caught, translated():
        raise driver_error
    assert not isinstance(caught.value, OperationFailure | ServerSelectionTimeoutError)


def test_indexes_are_created_idempotently(mongo: Any) -> None:
    store, db = mongo
    store.prepare()
    store.write([write("Patient", "a")])
    store.write([write("Patient", "a", 2)])
    history = db["history"].index_information()
    assert history["type_id_version"]["unique"]
    assert {"type_seq", "seq"} <= set(history)
    assert db["outbox"].index_information()["seq"]["unique"]
    resources = set(db["resources_Patient"].index_information())
    assert {"ts_id", "token", "reference", "date", "string", "quantity", "uri"} <= resources


def test_a_type_first_written_in_a_unit_gets_its_indexes_after_commit(mongo: Any) -> None:
    store, db = mongo
    with store.transaction() as tx:
        assert tx.search(Query(("Device",))).total == 0
        tx.write([write("Device", "d")])
        assert tx.read("Device", "d") is not None
    assert store.read("Device", "d") is not None
    assert "token" in db["resources_Device"].index_information()


def test_documents_keep_exact_bytes_and_microseconds(mongo: Any) -> None:
    store, db = mongo
    body = b'{"resourceType":"Patient",   "id":"a","z":1.50,"a":[]}'
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    store.write([write("Patient", "a", content=body, at=at)])
    current = store.read("Patient", "a")
    assert current is not None
    assert (current.content, current.last_updated) == (body, at)
    assert db["resources_Patient"].find_one({"_id": "a"})["content"] == body


def test_outbox_and_history_share_one_gapless_sequence(mongo: Any) -> None:
    store, db = mongo
    store.write([write("Patient", "a"), write("Observation", "o")])
    with pytest.raises(VersionConflict):
        store.write([write("Patient", "b"), write("Patient", "a")])
    store.write([write("Patient", "a", 2)])
    assert [e.seq for e in store.outbox_after(0, 10)] == [1, 2, 3]
    seqs = sorted(d["seq"] for d in db["history"].find({}))
    assert seqs == [1, 2, 3]


def test_conflict_inside_a_transaction_writes_nothing_of_that_call(mongo: Any) -> None:
    store, _ = mongo
    store.write([write("Patient", "a")])
    with store.transaction() as tx:
        tx.write([write("Patient", "b")])
        with pytest.raises(VersionConflict):
            tx.write([write("Patient", "c"), write("Patient", "a")])
        assert tx.read("Patient", "c") is None
    assert store.read("Patient", "b") is not None
    assert store.read("Patient", "c") is None
    assert store.history(HistoryQuery()).total == 2


def test_search_over_several_types_merges_pages_in_order(mongo: Any) -> None:
    store, _ = mongo
    store.write(
        [
            write("Patient" if i % 2 else "Observation", f"r{i}", at=T0 + timedelta(seconds=i))
            for i in range(7)
        ]
    )
    newest_first = (SortKey("_lastUpdated", descending=True),)
    both = ("Observation", "Patient")
    page = store.search(Query(both, count=3, offset=2, sort=newest_first))
    assert [e.id for e in page.entries] == ["r4", "r3", "r2"]
    assert page.total == 7


def test_too_broad_chain_is_refused(mongo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = mongo
    monkeypatch.setattr(resolve, "LIMIT", 2)
    store.write(
        [write("Patient", f"p{i}", index=(StringEntry("name", "ann", "Ann"),)) for i in range(3)]
    )
    chain = Chain("subject", "Patient", StringMatch("name", "ann"))
    with pytest.raises(TooCostly):
        ids(store, chain, types=("Observation",))


@needs_real_server
def test_concurrent_units_writing_one_type_conflict(mongo: Any) -> None:
    store, _ = mongo
    store.write([write("Patient", "seed")])
    with store.transaction() as first:
        assert ids(store, TokenMatch("_id", None, "x")) == []
        first.write([write("Patient", "x")])
        with pytest.raises(VersionConflict), store.transaction() as second:
            second.write([write("Patient", "y")])
    assert store.read("Patient", "x") is not None
    assert store.read("Patient", "y") is None


def _patterns(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        own = [doc["$regex"]] if isinstance(doc.get("$regex"), str) else []
        return own + [p for value in doc.values() for p in _patterns(value)]
    if isinstance(doc, list):
        return [p for value in doc for p in _patterns(value)]
    return []


def test_regex_patterns_are_ones_mongod_compiles() -> None:
    # mongod refuses a $regex with an embedded NUL byte or over 32764 bytes (BadValue).
    term = AnyOf(
        (
            StringMatch("name", "a\x00b", "contains"),
            StringMatch("name", "x\\\x00" + chr(0x10FFFF)),
        )
    )
    patterns = _patterns(compile_term(term))
    assert len(patterns) == 2
    assert all("\x00" not in p for p in patterns)
    with pytest.raises(InvalidRequest, match="too long"):
        compile_term(StringMatch("name", "." * 20_000, "contains"))


def test_nul_and_metacharacters_in_contains_match_literally(mongo: Any) -> None:
    store, _ = mongo
    values = ("a\x00b", "a.b", "a\\x00b", "(a|b)")
    store.write(
        [
            write("Patient", f"p{i}", index=(StringEntry("name", v, v),))
            for i, v in enumerate(values)
        ]
    )
    for i, value in enumerate(values):
        assert ids(store, StringMatch("name", value, "contains")) == [f"p{i}"]


@pytest.mark.parametrize(
    "driver_error",
    [
        DocumentTooLarge("BSON document too large (17000000 bytes)"),
        OperationFailure("Resulting document after update is larger than 16777216", 17419),
        OperationFailure("BSONObj size is invalid", 10334),
        BulkWriteError({"writeErrors": [{"index": 0, "code": 17420}]}),
    ],
)
def test_oversized_documents_are_payload_too_large(driver_error: Exception) -> None:
    # DocumentTooLarge is a bson InvalidDocument, not a PyMongoError: it used to escape.
    with pytest.raises(PayloadTooLarge), translated():
        raise driver_error


def test_a_body_over_the_bson_limit_is_refused_before_mongodb(mongo: Any) -> None:
    store, _ = mongo
    huge = b'{"resourceType":"Patient","id":"big","x":"' + b"x" * (16 * 1024 * 1024) + b'"}'
    with pytest.raises(PayloadTooLarge):
        store.write([write("Patient", "big", content=huge)])
    assert store.read("Patient", "big") is None


def _labelled(error: PyMongoError, label: str) -> PyMongoError:
    error._add_error_label(label)
    return error


@pytest.mark.parametrize(
    ("driver_error", "code"),
    [
        # with_transaction gives up with a timeout error that carries the labels
        (
            _labelled(NetworkTimeout("WriteConflict"), "TransientTransactionError"),
            "mongo-transient",
        ),
        (_labelled(ExecutionTimeout("WriteConflict", 50), "TransientTransactionError"), None),
        (_labelled(OperationFailure("NoSuchTransaction", 251), "TransientTransactionError"), None),
        (_labelled(OperationFailure("commit", 91), "UnknownTransactionCommitResult"), None),
        (WTimeoutError("waiting for replication timed out", 64), "mongo-timeout"),
        (NetworkTimeout("timed out"), "mongo-timeout"),
        (AutoReconnect("connection closed"), "mongo-unreachable"),
        (
            ConfigurationError("Server at h:1 reports wire version 8, but PyMongo requires 9"),
            "mongo-too-old",
        ),
    ],
)
def test_transient_and_timeout_errors_are_503(driver_error: Exception, code: str | None) -> None:
    with pytest.raises(StorageUnavailable) as caught, translated():
        raise driver_error
    if code is not None:
        assert caught.value.code == code


def test_commit_outcome_unknown_says_so() -> None:
    error = _labelled(OperationFailure("commit", 91), "UnknownTransactionCommitResult")
    with pytest.raises(StorageUnavailable, match="may or may not"), translated():
        raise error


def test_a_unit_stays_failed_after_a_driver_error(
    mongo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MongoDB aborts the transaction on any error: the unit must not go on (or commit).
    store, _ = mongo
    store.write([write("Patient", "seed")])

    def conflict(*_args: Any, **_kwargs: Any) -> int:
        raise _labelled(OperationFailure("WriteConflict", 112), "TransientTransactionError")

    def doomed_unit() -> None:
        with store.transaction() as unit:
            monkeypatch.setattr(writes, "_reserve", conflict)
            with pytest.raises(VersionConflict):
                unit.write([write("Patient", "x")])
            monkeypatch.undo()
            with pytest.raises(VersionConflict):
                unit.read("Patient", "seed")
            with pytest.raises(VersionConflict):
                unit.search(Query(("Patient",)))

    with pytest.raises(VersionConflict):  # at commit: the unit is over
        doomed_unit()
    assert store.read("Patient", "x") is None
    assert store.read("Patient", "seed") is not None


def _hello(reply: dict[str, Any]) -> Any:
    def command(self: Any, command: Any, **_options: Any) -> dict[str, Any]:
        return {"ok": 1.0, **reply}

    return command


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ({"setName": "rs0", "isWritablePrimary": False, "secondary": True}, "mongo-not-primary"),
        ({"isWritablePrimary": True, "maxWireVersion": 21}, "mongo-no-replica-set"),
    ],
)
def test_servers_that_cannot_take_the_writes_are_refused(
    monkeypatch: pytest.MonkeyPatch, reply: dict[str, Any], code: str
) -> None:
    monkeypatch.setattr(StandinDatabase, "command", _hello(reply))
    store = MongoResourceStore(cast("MongoClient[dict[str, Any]]", StandinClient()), "fhir")
    with pytest.raises(StorageUnavailable) as caught:
        store.check_transactions()
    assert caught.value.code == code


def test_mongos_and_primaries_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for reply in (
        {"msg": "isdbgrid", "isWritablePrimary": True, "maxWireVersion": 21},
        {"setName": "rs0", "ismaster": True},
    ):
        monkeypatch.setattr(StandinDatabase, "command", _hello(reply))
        store = MongoResourceStore(cast("MongoClient[dict[str, Any]]", StandinClient()), "fhir")
        store.check_transactions()


def test_from_url_lowers_timeouts_the_url_leaves_out(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def client(url: str, **kwargs: Any) -> StandinClient:
        seen.append(kwargs)
        return StandinClient()

    monkeypatch.setattr(store_module, "MongoClient", client)
    MongoResourceStore.from_url("mongodb://db.invalid/fhir?replicaSet=rs0").close()
    assert seen[-1]["serverSelectionTimeoutMS"] == 5000
    assert seen[-1]["connectTimeoutMS"] == 5000
    MongoResourceStore.from_url("mongodb://db.invalid/fhir?serverselectiontimeoutms=100").close()
    assert "serverSelectionTimeoutMS" not in seen[-1]
    assert seen[-1]["connectTimeoutMS"] == 5000


@pytest.mark.timeout(30)
def test_a_down_server_is_storage_unavailable() -> None:
    # Real PyMongo against a closed local port: nothing listens on 127.0.0.1:9.
    url = "mongodb://127.0.0.1:9/fhir?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    with pytest.raises(StorageUnavailable) as caught:
        MongoResourceStore.from_url(url)
    assert caught.value.code == "mongo-unreachable"
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    store = MongoResourceStore(client)
    with pytest.raises(StorageUnavailable):
        store.ping()
    with pytest.raises(StorageUnavailable):
        store.write([write("Patient", "a")])
    store.close()


def test_index_keys_stay_within_one_array_and_cover_each_kind(mongo: Any) -> None:
    store, db = mongo
    store.write([write("Patient", "a")])
    info = db["resources_Patient"].index_information()
    assert {"number", "string", "token", "date", "quantity", "uri", "reference"} <= set(info)
    for name, spec in info.items():
        arrays = {".".join(field.split(".")[:2]) for field, _ in spec["key"]}
        indexed = {a for a in arrays if a.startswith("_index.")}
        assert len(indexed) <= 1, f"{name} spans parallel arrays {indexed}"
        assert not indexed or indexed == arrays, f"{name} mixes an array with scalars"
    assert db["counters"].find_one({"_id": "lock:Patient"}) is not None


def test_history_at_keeps_each_resources_version_then_pages(mongo: Any) -> None:
    store, _ = mongo
    store.write([write("Patient", f"p{i}", at=T0 + timedelta(seconds=i)) for i in range(4)])
    store.write([write("Patient", "p1", 2, at=T0 + timedelta(seconds=10))])
    store.write([write("Patient", "p2", 2, at=T0 + timedelta(seconds=20))])
    at = T0 + timedelta(seconds=15)
    first = store.history(HistoryQuery("Patient", at=at, count=2))
    assert first.total == 4
    assert [(v.id, v.version_id) for v in first.entries] == [("p1", 2), ("p3", 1)]
    rest = store.history(HistoryQuery("Patient", at=at, count=5, offset=2))
    assert [(v.id, v.version_id) for v in rest.entries] == [("p2", 1), ("p0", 1)]


def test_concurrent_plain_writes_of_one_type_all_land(mongo: Any) -> None:
    # On a replica set every such pair conflicts on the type's lock and on seq;
    # with_transaction must retry them rather than fail one.
    store, _ = mongo
    store.write([write("Patient", "seed")])
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            for k in range(5):
                store.write([write("Patient", f"w{n}-{k}")])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert [e.seq for e in store.outbox_after(0, 100)] == list(range(1, 22))


@needs_real_server
def test_a_unit_that_lost_a_write_conflict_keeps_reporting_it(mongo: Any) -> None:
    store, _ = mongo
    store.write([write("Patient", "seed")])

    def losing_unit() -> None:
        with store.transaction() as second:
            with pytest.raises(VersionConflict):
                second.write([write("Patient", "y")])
            second.read("Patient", "seed")  # not NoSuchTransaction (503): the same 409

    with store.transaction() as first:
        first.write([write("Patient", "x")])
        with pytest.raises(VersionConflict):
            losing_unit()
    assert store.read("Patient", "x") is not None


@pytest.mark.skipif(
    not MONGO_URL, reason="needs a real server: the stand-in enforces no 16 MB document limit"
)
def test_a_document_just_over_the_limit_is_payload_too_large(mongo: Any) -> None:
    store, _ = mongo
    body = b'{"resourceType":"Patient","id":"big","x":"' + b"x" * (16 * 1024 * 1024 - 100) + b'"}'
    with pytest.raises(PayloadTooLarge):
        store.write([write("Patient", "big", content=body)])
    assert store.read("Patient", "big") is None
