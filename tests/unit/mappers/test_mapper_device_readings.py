from __future__ import annotations

import json
from typing import Any

import pytest
from mapper_fixtures import assert_valid, entry_of, fixture_bytes, make_ctx, of_type

from fhir_server.ingest.spec import (
    READING_SYSTEM,
    MappedMessage,
    MappingError,
    UnknownPatientPolicy,
    content_key,
)
from mappers.devices.loader import parse_template
from mappers.devices.mapper import TemplateMapper

UCUM = "http://unitsofmeasure.org"
MRN = "urn:oid:1.2.840.114350.1.13.99998.8734"
MAPPER = TemplateMapper()
WRIST = fixture_bytes("devices/pulsewave_batch.json")
CUFF = fixture_bytes("devices/omnicuff_session.json")
CGM = fixture_bytes("devices/glucostream_egvs.json")


def mapped_of(
    payload: bytes, policy: UnknownPatientPolicy = "hold", key: str | None = None
) -> MappedMessage:
    return assert_valid(MAPPER.map(payload, make_ctx(policy, key)))


def observations(mapped: MappedMessage, code: str) -> list[dict[str, Any]]:
    return [o for o in of_type(mapped, "Observation") if o["code"]["coding"][0]["code"] == code]


def edited(payload: bytes, change: Any) -> bytes:
    document = json.loads(payload)
    change(document)
    return json.dumps(document).encode()


def test_wrist_batch_device_is_found_or_created_and_linked_to_the_patient() -> None:
    mapped = mapped_of(WRIST)
    (device,) = of_type(mapped, "Device")
    assert device["identifier"] == [
        {"system": "urn:pulsewave:device-serial", "value": "PW3-7F3A21"}
    ]
    assert (device["manufacturer"], device["modelNumber"]) == ("PulseWave", "PulseWave Band 3")
    assert device["patient"] == {"reference": f"Patient?identifier={MRN}|PATID1234"}
    assert (
        entry_of(mapped, device)["request"]["ifNoneExist"]
        == "identifier=urn:pulsewave:device-serial|PW3-7F3A21"
    )
    assert mapped.message_key == "pulsewave-wrist|pw-20240322-000173"


def test_wrist_batch_readings() -> None:
    mapped = mapped_of(WRIST)
    heart = observations(mapped, "8867-4")
    assert [o["valueQuantity"]["value"] for o in heart] == [72, 75, 78]
    assert heart[0]["valueQuantity"] == {
        "value": 72,
        "unit": "beats/minute",
        "system": UCUM,
        "code": "/min",
    }
    assert heart[2]["effectiveDateTime"] == "2024-03-22T10:02:00+01:00"
    spo2 = observations(mapped, "59408-5")
    assert [o["valueQuantity"]["value"] for o in spo2] == [97, 98]  # the null sample is skipped
    assert [c["code"] for c in spo2[0]["code"]["coding"]] == ["59408-5", "2708-6"]
    steps = observations(mapped, "55423-8")
    assert [o["valueQuantity"]["value"] for o in steps] == [112, 96]  # the third has no steps
    assert steps[0]["category"][0]["coding"][0]["code"] == "activity"
    (device,) = of_type(mapped, "Device")
    for observation in of_type(mapped, "Observation"):
        assert observation["device"] == {"reference": entry_of(mapped, device)["fullUrl"]}
        assert observation["status"] == "final"


def test_wrist_ecg_strip_is_sampled_data() -> None:
    (ecg,) = observations(mapped_of(WRIST), "131329")
    sampled = ecg["valueSampledData"]
    assert sampled["origin"] == {"value": 0, "unit": "µV", "system": UCUM, "code": "uV"}
    assert sampled["period"] == 4.0
    assert sampled["dimensions"] == 1
    data = sampled["data"].split(" ")
    assert len(data) == 40
    assert data[:3] == ["0", "15", "30"]
    assert data[5] == "E"
    assert ecg["effectiveDateTime"] == "2024-03-22T08:03:00.250+00:00"
    assert "category" not in ecg


def test_blood_pressure_panel_with_components() -> None:
    mapped = mapped_of(CUFF)
    first, second = observations(mapped, "85354-9")
    assert first["effectiveDateTime"] == "2024-03-22T08:00:00+00:00"
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in first["component"]
    ] == [
        ("8480-6", 128),
        ("8462-4", 82),
        ("8478-0", 97),
    ]
    assert first["component"][0]["valueQuantity"] == {
        "value": 128,
        "unit": "mmHg",
        "system": UCUM,
        "code": "mm[Hg]",
    }
    assert [c["code"]["coding"][0]["code"] for c in second["component"]] == ["8480-6", "8462-4"]
    assert [o["valueQuantity"]["value"] for o in observations(mapped, "8867-4")] == [71, 69]
    (device,) = of_type(mapped, "Device")
    assert device["type"]["coding"][0]["code"] == "528391"


def test_cgm_readings_in_either_unit() -> None:
    mapped = mapped_of(CGM)
    mass = observations(mapped, "99504-3")
    assert [o["valueQuantity"]["value"] for o in mass] == [112, 118]
    assert mass[0]["effectiveDateTime"] == "2024-03-22T08:00:00+00:00"
    (molar,) = observations(mapped, "105272-9")
    assert molar["valueQuantity"] == {
        "value": 6.9,
        "unit": "mmol/L",
        "system": UCUM,
        "code": "mmol/L",
    }
    assert molar["category"][0]["coding"][0]["code"] == "laboratory"


@pytest.mark.parametrize("payload", [WRIST, CUFF, CGM], ids=["wrist", "cuff", "cgm"])
def test_every_reading_is_created_once_by_a_deterministic_identifier(payload: bytes) -> None:
    mapped = mapped_of(payload)
    readings = of_type(mapped, "Observation")
    values = [o["identifier"][0]["value"] for o in readings]
    assert len(set(values)) == len(values)
    for reading in readings:
        assert reading["identifier"][0]["system"] == READING_SYSTEM
        request = entry_of(mapped, reading)["request"]
        assert (request["method"], request["ifNoneExist"]) == (
            "POST",
            f"identifier={READING_SYSTEM}|{reading['identifier'][0]['value']}",
        )
    assert mapped_of(payload).bundle_entries == mapped.bundle_entries


def test_an_overlapping_batch_reuses_the_identifiers_of_readings_already_sent() -> None:
    def next_batch(document: dict[str, Any]) -> None:
        document["batch_id"] = "pw-20240322-000174"
        document["samples"] = [*document["samples"][:1], {"t": "2024-03-22T08:04:00Z", "hr": 80}]
        del document["ecg"]

    first = {o["identifier"][0]["value"] for o in of_type(mapped_of(WRIST), "Observation")}
    second = {
        o["identifier"][0]["value"]
        for o in of_type(mapped_of(edited(WRIST, next_batch)), "Observation")
    }
    assert len(second - first) == 1  # only the 08:04 heart rate is new


def test_the_same_instant_in_another_offset_is_the_same_reading() -> None:
    def shift(document: dict[str, Any]) -> None:
        document["samples"][0]["t"] = "2024-03-22T09:00:00+01:00"

    original = observations(mapped_of(WRIST), "8867-4")[0]
    shifted = observations(mapped_of(edited(WRIST, shift)), "8867-4")[0]
    assert original["identifier"] == shifted["identifier"]


def test_placeholder_policy_creates_a_tagged_patient() -> None:
    mapped = mapped_of(CGM, "placeholder")
    (patient,) = of_type(mapped, "Patient")
    assert patient["identifier"] == [{"system": MRN, "value": "PATID1234"}]
    assert patient["meta"]["tag"][0]["code"] == "placeholder"
    for observation in of_type(mapped, "Observation"):
        assert observation["subject"] == {"reference": entry_of(mapped, patient)["fullUrl"]}


def test_message_key_falls_back_to_the_transport_then_the_content() -> None:
    payload = edited(CGM, lambda d: d.pop("uploadId"))
    assert mapped_of(payload, key="mqtt-17").message_key == "mqtt-17"
    assert mapped_of(payload).message_key == content_key(payload)


def test_a_template_without_patient_makes_the_device_the_subject() -> None:
    template = parse_template(
        {
            "name": "room-sensor",
            "match": "sensor != null",
            "device": {"system": "urn:rooms:sensor", "id": "sensor"},
            "timestamp": "at",
            "timestamp_format": "epoch_ms",
            "readings": [
                {
                    "kind": "quantity",
                    "category": None,
                    "code": [{"system": "http://loinc.org", "code": "8310-5"}],
                    "value": "t",
                    "unit": {"code": "Cel"},
                }
            ],
        }
    )
    payload = json.dumps({"sensor": 7, "at": 1711094400000, "t": "36.6"}).encode()
    mapped = assert_valid(TemplateMapper([template]).map(payload, make_ctx()))
    (device,) = of_type(mapped, "Device")
    (reading,) = of_type(mapped, "Observation")
    assert reading["subject"] == {"reference": entry_of(mapped, device)["fullUrl"]}
    assert reading["valueQuantity"]["value"] == 36.6


@pytest.mark.parametrize(
    ("payload", "code", "location"),
    [
        (b"{not json", "malformed", None),
        (b'{"vendor": "unknown"}', "unsupported-message", None),
        (
            edited(CUFF, lambda d: d.update(cuffSerial=None)),
            "required-missing",
            "omnicuff-bp.device.id",
        ),
        (
            edited(CUFF, lambda d: d["patient"].pop("mrn")),
            "required-missing",
            "omnicuff-bp.patient.id",
        ),
        (
            edited(CUFF, lambda d: d["measurements"][0].update(systolic="high")),
            "invalid-value",
            "omnicuff-bp.readings[0].components[0].value",
        ),
        (
            edited(CUFF, lambda d: d["measurements"][0].update(pulse=True)),
            "invalid-value",
            "omnicuff-bp.readings[1].value",
        ),
        (
            edited(CGM, lambda d: d["egvs"][0].update(systemTime="yesterday")),
            "invalid-value",
            "glucostream-cgm.readings[0].timestamp",
        ),
        (
            edited(WRIST, lambda d: d["samples"][0].pop("t")),
            "required-missing",
            "pulsewave-wrist.readings[0].timestamp",
        ),
        (
            edited(WRIST, lambda d: d["ecg"][0].update(hz=0)),
            "invalid-value",
            "pulsewave-wrist.readings[3].sample_rate_hz",
        ),
        (
            edited(WRIST, lambda d: d["ecg"][0].update(uV="flat")),
            "invalid-value",
            "pulsewave-wrist.readings[3].data",
        ),
    ],
    ids=[
        "not-json",
        "no-template",
        "no-device",
        "no-patient",
        "text-value",
        "bool-value",
        "bad-time",
        "no-time",
        "zero-rate",
        "samples-not-list",
    ],
)
def test_payload_problems(payload: bytes, code: str, location: str | None) -> None:
    with pytest.raises(MappingError) as caught:
        MAPPER.map(payload, make_ctx())
    assert (caught.value.code, caught.value.location) == (code, location)
