"""Inbox + pipeline: exactly-once effect, dead letters, replay, crash recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ingest_fixtures import count, fixture, pipeline, versions

from fhir_server.ingest.inbox import Inbox, message_id
from fhir_server.ingest.pipeline import SOURCE_PREFIX, Pipeline, message_key

ADT = "hl7v2/adt_a01_v251.hl7"
ORU = "hl7v2/oru_r01_lab_v251.hl7"
CUFF = "devices/omnicuff_session.json"


def test_adt_then_oru_writes_patient_and_observations(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        adt = p.ingest("hl7v2", fixture(ADT), transport="mllp", source="peer")
        oru = p.ingest("hl7v2", fixture(ORU), transport="mllp", source="peer")
        assert adt.message.state == "processed"
        assert oru.message.state == "processed", oru.message.error
        assert count(p, "Patient") == 1
        assert count(p, "Observation") >= 1
        query, _ = p.service.parse(["Observation"], [])
        observation = p.service.search(query).entries[0].resource()
        assert observation["meta"]["source"] == SOURCE_PREFIX + oru.message.id


def test_redelivery_is_answered_from_the_inbox_and_changes_nothing(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        p.ingest("hl7v2", fixture(ADT), transport="mllp", source="peer")
        first = p.ingest("hl7v2", fixture(ORU), transport="mllp", source="peer")
        before = (count(p, "Observation"), versions(p))
        again = p.ingest("hl7v2", fixture(ORU), transport="mllp", source="other")
        assert again.duplicate
        assert again.message.result == first.message.result
        assert (count(p, "Observation"), versions(p)) == before
        assert p.inbox.counts() == {"received": 0, "processed": 2, "dead": 0}


def test_processing_a_message_twice_creates_no_resource_and_no_version(tmp_path: Path) -> None:
    """What a crash between the store commit and the inbox update leads to."""
    with pipeline(tmp_path) as p:
        p.ingest("hl7v2", fixture(ADT), transport="mllp", source="peer")
        result = p.ingest("device-templates", fixture(CUFF), transport="http", source="x")
        before = (count(p, "Observation"), count(p, "Device"), versions(p))
        p.process(result.message)
        assert (count(p, "Observation"), count(p, "Device"), versions(p)) == before


def test_unknown_patient_is_held_as_a_dead_letter_then_replayed(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        held = p.ingest("hl7v2", fixture(ORU), transport="mllp", source="peer")
        assert held.message.state == "dead"
        assert held.message.error is not None
        assert "Patient?identifier=" in held.message.error["reason"]
        assert held.message.error["code"] == "unresolved-reference"
        assert count(p, "Observation") == 0
        p.ingest("hl7v2", fixture(ADT), transport="mllp", source="peer")
        replayed = p.replay(held.message.id)
        assert replayed is not None
        assert replayed.state == "processed"
        assert count(p, "Observation") >= 1
        assert p.replay(held.message.id) is None  # no longer a dead letter


def test_placeholder_policy_creates_a_tagged_patient_once(tmp_path: Path) -> None:
    with pipeline(tmp_path, policy="placeholder") as p:
        result = p.ingest("hl7v2", fixture(ORU), transport="mllp", source="peer")
        assert result.message.state == "processed"
        query, _ = p.service.parse(["Patient"], [])
        (patient,) = p.service.search(query).entries
        assert patient.resource()["meta"]["tag"][0]["code"] == "placeholder"


def test_mapping_failure_is_kept_with_its_reason_and_location(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        result = p.ingest(
            "hl7v2", fixture("hl7v2/oru_r01_truncated.hl7"), transport="mllp", source="peer"
        )
        assert result.message.state == "dead"
        assert result.message.error == {
            "code": "required-missing",
            "reason": "ORU^R01 carries no OBX segment (truncated message?)",
            "location": "OBX",
        }
        assert [m.id for m in p.inbox.list("dead")] == [result.message.id]


@pytest.mark.parametrize(
    ("mapper", "payload", "code"),
    [
        ("hl7v2", b"not hl7 at all", "malformed"),
        ("hl7v2", b"MSH|^~\\&|A|B|C|D|20240101||ZZZ^Z01|1|P|2.5.1\r", "unsupported-message"),
        ("no-such-mapper", b"{}", "unsupported-message"),
        ("device-templates", b"{not json", "malformed"),
    ],
)
def test_unroutable_or_unparseable_messages_are_dead_letters(
    tmp_path: Path, mapper: str, payload: bytes, code: str
) -> None:
    with pipeline(tmp_path) as p:
        result = p.ingest(mapper, payload, transport="http", source="x")
        assert result.message.state == "dead"
        assert result.message.error is not None
        assert result.message.error["code"] == code


def test_messages_left_received_are_processed_on_recovery(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        p.ingest("hl7v2", fixture(ADT), transport="mllp", source="peer")
        key = message_key(p.registry.get("device-templates"), fixture(CUFF))
        stored, first = p.inbox.receive(
            key, mapper="device-templates", transport="mqtt", source="t", payload=fixture(CUFF)
        )
        assert first
        assert stored.state == "received"
        assert count(p, "Observation") == 0
        assert p.recover() == 1
        assert p.inbox.get(stored.id).state == "processed"  # type: ignore[union-attr]
        assert count(p, "Observation") > 0


def test_vendor_message_id_keys_a_device_payload(tmp_path: Path) -> None:
    with pipeline(tmp_path) as p:
        mapper = p.registry.get("device-templates")
        assert message_key(mapper, fixture(CUFF)) == "omnicuff-bp|sess-88213"
        assert message_key(mapper, b'{"unknown": "shape"}').startswith("sha256:")
        assert message_key(None, fixture(ADT)).startswith("hl7v2|ADT1|")


def test_inbox_survives_reopening_and_keeps_keys_unique(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.db")
    stored, first = inbox.receive("k1", mapper="m", transport="t", source="s", payload=b"x")
    inbox.close()
    reopened = Inbox(tmp_path / "inbox.db")
    again, second = reopened.receive("k1", mapper="m", transport="t", source="s", payload=b"y")
    assert (first, second) == (True, False)
    assert again.id == stored.id == message_id("k1")
    assert again.payload == b"x"
    assert reopened.counts()["received"] == 1
    reopened.close()


A40 = "hl7v2/adt_a40_v251.hl7"


def _patients(p: Pipeline) -> dict[str, dict[str, Any]]:
    query, _ = p.service.parse(["Patient"], [("_count", "100")])
    found = [v.resource() for v in p.service.search(query).entries]
    return {r["identifier"][0]["value"]: r for r in found}


def test_merge_retires_a_known_prior_patient(tmp_path: Path) -> None:
    prior_adt = fixture(ADT).replace(b"PATID1234", b"PATID9999").replace(b"MSG00001", b"PRIOR")
    with pipeline(tmp_path) as p:
        assert p.ingest("hl7v2", prior_adt, transport="mllp", source="peer").message.state == (
            "processed"
        )
        merged = p.ingest("hl7v2", fixture(A40), transport="mllp", source="peer")
        assert merged.message.state == "processed", merged.message.error
        patients = _patients(p)
        prior, survivor = patients["PATID9999"], patients["PATID1234"]
        assert prior["active"] is False
        assert prior["name"][0]["family"] == "EVERYMAN"  # the merge keeps its demographics
        assert prior["birthDate"] == "1961-06-15"
        assert prior["link"] == [
            {"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}
        ]
        assert survivor["link"] == [
            {"other": {"reference": f"Patient/{prior['id']}"}, "type": "replaces"}
        ]


def test_merge_of_an_unknown_prior_patient_follows_the_policy(tmp_path: Path) -> None:
    with pipeline(tmp_path / "hold") as p:
        held = p.ingest("hl7v2", fixture(A40), transport="mllp", source="peer")
        assert held.message.state == "dead"
        assert count(p, "Patient") == 0
    with pipeline(tmp_path / "placeholder", policy="placeholder") as p:
        merged = p.ingest("hl7v2", fixture(A40), transport="mllp", source="peer")
        assert merged.message.state == "processed", merged.message.error
        patients = _patients(p)
        prior, survivor = patients["PATID9999"], patients["PATID1234"]
        assert prior["active"] is False
        assert prior["meta"]["tag"][0]["code"] == "placeholder"
        assert prior["link"][0]["type"] == "replaced-by"
        assert survivor["link"][0]["other"] == {"reference": f"Patient/{prior['id']}"}
        again = p.ingest("hl7v2", fixture(A40), transport="mllp", source="other")
        assert again.duplicate
        assert count(p, "Patient") == 2
