"""Versions, optimistic concurrency and atomicity of the storage port, on every backend."""

from __future__ import annotations

import threading

import orjson
import pytest

from fhir_server.core.bundles import transaction
from fhir_server.core.ports import HistoryQuery, ResourceStore, VersionWrite
from fhir_server.core.resources import ResourceService
from fhir_server.errors import Gone, NotFound, PreconditionFailed, VersionConflict
from fhir_server.model.instant import now
from tests.factories import observation, patient


def _write(type_: str, id_: str, version: int, expected: int) -> VersionWrite:
    body = orjson.dumps({"resourceType": type_, "id": id_})
    return VersionWrite(type_, id_, version, now(), "PUT", body, expected)


def test_write_with_stale_expected_version_conflicts_and_writes_nothing(
    store: ResourceStore,
) -> None:
    store.write([_write("Patient", "a", 1, 0)])
    with pytest.raises(VersionConflict):
        store.write([_write("Patient", "a", 2, 0)])
    current = store.read("Patient", "a")
    assert current is not None
    assert current.version_id == 1
    assert store.history(HistoryQuery("Patient", "a")).total == 1


def test_creating_a_stored_id_inside_a_transaction_conflicts_and_rolls_back(
    store: ResourceStore,
) -> None:
    store.write([_write("Patient", "a", 1, 0)])

    def create_both() -> None:
        with store.transaction() as tx:
            tx.write([_write("Patient", "fresh", 1, 0)])
            tx.write([_write("Patient", "a", 1, 0)])

    with pytest.raises(VersionConflict):
        create_both()
    assert store.read("Patient", "fresh") is None
    current = store.read("Patient", "a")
    assert current is not None
    assert current.version_id == 1
    assert store.history(HistoryQuery("Patient", "a")).total == 1


def test_failed_multi_write_leaves_nothing_behind(store: ResourceStore) -> None:
    store.write([_write("Patient", "a", 1, 0)])
    with pytest.raises(VersionConflict):
        store.write([_write("Patient", "b", 1, 0), _write("Patient", "a", 2, 7)])
    assert store.read("Patient", "b") is None
    assert store.outbox_after(0, 10)[-1].id == "a"


def test_transaction_rolls_back_on_error(store: ResourceStore) -> None:
    class Boom(Exception):
        pass

    seen_inside: list[bool] = []

    def failing_unit() -> None:
        with store.transaction() as tx:
            tx.write([_write("Patient", "x", 1, 0)])
            seen_inside.append(tx.read("Patient", "x") is not None)
            raise Boom

    with pytest.raises(Boom):
        failing_unit()
    assert seen_inside == [True]
    assert store.read("Patient", "x") is None
    assert store.outbox_after(0, 10) == []


def test_each_version_appends_one_outbox_event(service: ResourceService) -> None:
    created = service.create(patient(), "Patient").version
    service.update({**patient(family="Jones"), "id": created.id}, "Patient", created.id)
    service.delete("Patient", created.id)
    events = service.store.outbox_after(0, 10)
    assert [(e.id, e.version_id, e.method) for e in events] == [
        (created.id, 1, "POST"),
        (created.id, 2, "PUT"),
        (created.id, 3, "DELETE"),
    ]


def test_read_vread_and_delete_semantics(service: ResourceService) -> None:
    created = service.create(observation(), "Observation").version
    assert service.read("Observation", created.id).resource()["meta"]["versionId"] == "1"
    service.update(
        {**observation(value=80), "id": created.id}, "Observation", created.id, if_match=1
    )
    assert service.vread("Observation", created.id, "1").resource()["valueQuantity"]["value"] == 72
    assert service.delete("Observation", created.id) is not None
    with pytest.raises(Gone):
        service.read("Observation", created.id)
    with pytest.raises(Gone):
        service.vread("Observation", created.id, "3")
    assert service.delete("Observation", created.id) is None
    with pytest.raises(NotFound):
        service.read("Observation", "never-existed")


def test_update_as_create_then_recreate_after_delete(service: ResourceService) -> None:
    first = service.update({**patient(), "id": "client-id"}, "Patient", "client-id")
    assert first.created
    service.delete("Patient", "client-id")
    again = service.update({**patient(), "id": "client-id"}, "Patient", "client-id")
    assert again.created
    assert again.version.version_id == 3


def test_exactly_one_of_two_racing_if_match_updates_wins(service: ResourceService) -> None:
    created = service.create(patient(), "Patient").version
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(family: str) -> None:
        barrier.wait()
        try:
            body = {**patient(family=family), "id": created.id}
            service.update(body, "Patient", created.id, if_match=1)
            outcomes.append("won")
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["412", "won"]
    assert service.read("Patient", created.id).version_id == 2


@pytest.mark.parametrize("interaction", ["create", "update", "delete"])
def test_a_conditional_unit_that_loses_a_write_conflict_runs_again(
    service: ResourceService, monkeypatch: pytest.MonkeyPatch, interaction: str
) -> None:
    """What a real MongoDB reports when a concurrent unit won (WriteConflict -> 409)."""
    condition = [("identifier", "urn:mrn|race")]
    if interaction != "create":
        service.create(patient(identifier="race"), "Patient")
    write = "_tombstone" if interaction == "delete" else "_put"
    original = getattr(ResourceService, write)
    lost: list[bool] = []

    def losing_once(self: ResourceService, *args: object, **kwargs: object) -> object:
        if not lost:
            lost.append(True)
            raise VersionConflict("a concurrent transaction changed the same resources; retry")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ResourceService, write, losing_once)
    if interaction == "create":
        assert service.create_conditional(patient(identifier="race"), "Patient", condition).created
    elif interaction == "update":
        body = patient(family="After", identifier="race")
        assert not service.update_conditional(body, "Patient", condition).created
    else:
        assert service.delete_conditional("Patient", condition) is not None
    assert lost == [True]
    query, _ = service.parse(["Patient"], condition)
    found = service.search(query).entries
    assert len(found) == (0 if interaction == "delete" else 1)
    if interaction == "update":
        assert found[0].resource()["name"][0]["family"] == "After"


def test_a_transaction_bundle_that_loses_a_write_conflict_runs_again_whole(
    service: ResourceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0f7c2e-7d2a-4a8e-9a59-5d1c8f0b6a01",
                "resource": patient(identifier="bundle-race"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": observation(subject="urn:uuid:0b0f7c2e-7d2a-4a8e-9a59-5d1c8f0b6a01"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    original = ResourceService._put
    calls: list[int] = []

    def losing_the_second_write_once(self: ResourceService, *args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 2:  # the first attempt's Patient is written, then it loses
            raise VersionConflict("a concurrent transaction won; retry", code="write-conflict")
        return original(self, *args, **kw)

    monkeypatch.setattr(ResourceService, "_put", losing_the_second_write_once)
    results = transaction(service, bundle, 100)
    assert [r.status for r in results] == [201, 201]
    assert len(calls) == 4  # two writes lost with the first attempt, two kept
    for resource_type in ("Patient", "Observation"):
        query, _ = service.parse([resource_type], [])
        assert len(service.search(query).entries) == 1


def test_a_deterministic_version_conflict_in_a_bundle_is_not_retried(
    service: ResourceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def always_conflicting(self: ResourceService, *args: object, **kw: object) -> object:
        calls.append(1)
        raise VersionConflict("the id exists")

    monkeypatch.setattr(ResourceService, "_put", always_conflicting)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient(), "request": {"method": "POST", "url": "Patient"}}],
    }
    with pytest.raises(VersionConflict):
        transaction(service, bundle, 100)
    assert len(calls) == 1
