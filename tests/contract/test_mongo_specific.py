"""MongoDB-only behaviours of MongoResourceStore.

Runs on the in-memory stand-in (tests/support/mongo_standin.py, a test double) unless
FHIR_SERVER_TEST_MONGODB_URL names a real replica set; tests that need real isolation are
skipped on the stand-in with the reason shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import pytest
from pymongo import MongoClient
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from fhir_server.core.ports import HistoryQuery, VersionWrite
from fhir_server.errors import (
    InvalidRequest,
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
from fhir_server.storage.mongo import resolve
from fhir_server.storage.mongo.compile import compile_term
from fhir_server.storage.mongo.errors import REPLICA_SET_MESSAGE, translated
from fhir_server.storage.mongo.store import MongoResourceStore
from tests.factories import MONGO_URL
from tests.support.mongo_standin import StandinClient, open_standin_store

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
