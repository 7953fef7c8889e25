"""Open mHealth data points (the official samples) through the bundled omh-* templates."""

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
from mappers.devices.mapper import TemplateMapper

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SOURCE = "urn:openmhealth:source-name"
USER = "urn:openmhealth:user-id"
SAMPLE_ID = "123e4567-e89b-12d3-a456-426655440000"  # the id of every official sample header
MAPPER = TemplateMapper()


def sample(name: str) -> bytes:
    return fixture_bytes(f"devices/openmhealth/{name}.json")


def document(name: str) -> Any:
    return json.loads(sample(name))


def mapped_of(payload: bytes, policy: UnknownPatientPolicy = "hold") -> MappedMessage:
    return assert_valid(MAPPER.map(payload, make_ctx(policy)))


def edited(name: str, change: Any) -> bytes:
    data = document(name)
    change(data)
    return json.dumps(data).encode()


def the_observation(mapped: MappedMessage) -> dict[str, Any]:
    (observation,) = of_type(mapped, "Observation")
    return observation


def quantity(value: float, code: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


HEART_RATE = "heart-rate-2.0-with-descriptive-statistic"
BLOOD_PRESSURE = "blood-pressure-4.0-blood-pressure-only"
TEMPERATURE = "body-temperature-4.0-valid-temperature"
SPO2 = "oxygen-saturation-2.0-saturation-only"
RESPIRATION = "respiratory-rate-3.0-respiratory-rate-only"
WEIGHT = "body-weight-3.0-with-descriptive-statistic"  # its header has no user_id
GLUCOSE = "blood-glucose-4.0-with-everything"
STEPS = "step-count-3.0-valid-step-count"
STEPS_V2 = "step-count-2.0-valid-step-count"
VALID = [HEART_RATE, BLOOD_PRESSURE, TEMPERATURE, SPO2, RESPIRATION, WEIGHT, GLUCOSE, STEPS]

# sample -> (template, codes, category, valueQuantity, effective[x])
EXPECTED: dict[str, tuple[str, list[str], str, dict[str, Any] | None, dict[str, Any]]] = {
    HEART_RATE: (
        "omh-heart-rate",
        ["8867-4"],
        "vital-signs",
        quantity(50, "/min", "beats/min"),
        {
            "effectivePeriod": {
                "start": "2020-02-05T06:00:00+01:00",
                "end": "2020-02-06T06:00:00+01:00",
            }
        },
    ),
    BLOOD_PRESSURE: (
        "omh-blood-pressure",
        ["85354-9"],
        "vital-signs",
        None,
        {"effectiveDateTime": "2020-02-05T07:25:00-08:00"},
    ),
    TEMPERATURE: (
        "omh-body-temperature",
        ["8310-5"],
        "vital-signs",
        quantity(97, "[degF]", "°F"),
        {"effectiveDateTime": "2023-02-05T07:25:00+01:00"},
    ),
    SPO2: (
        "omh-oxygen-saturation",
        ["59408-5", "2708-6"],
        "vital-signs",
        quantity(95, "%", "%"),
        {"effectiveDateTime": "2013-02-05T07:25:00-08:00"},
    ),
    RESPIRATION: (
        "omh-respiratory-rate",
        ["9279-1"],
        "vital-signs",
        quantity(12, "/min", "breaths/min"),
        {"effectiveDateTime": "2020-02-05T07:25:00-08:00"},
    ),
    WEIGHT: (
        "omh-body-weight",
        ["29463-7"],
        "vital-signs",
        quantity(49.5, "kg", "kg"),
        {
            "effectivePeriod": {
                "start": "2020-02-05T09:45:00-08:00",
                "end": "2020-03-05T10:40:00-08:00",
            }
        },
    ),
    GLUCOSE: (
        "omh-blood-glucose",
        ["2339-0"],
        "laboratory",
        quantity(95, "mg/dL", "mg/dL"),
        {
            "effectivePeriod": {
                "start": "2013-02-05T07:25:00+00:00",
                "end": "2013-06-05T07:25:00+00:00",
            }
        },
    ),
    STEPS: (
        "omh-step-count",
        ["55423-8"],
        "activity",
        quantity(10600, "{steps}", "steps"),
        {
            "effectivePeriod": {
                "start": "2016-02-05T06:25:00+00:00",
                "end": "2016-02-05T07:25:00+00:00",
            }
        },
    ),
}


@pytest.mark.parametrize("name", VALID)
def test_each_official_sample_maps_to_one_observation(name: str) -> None:
    template, codes, category, value, effective = EXPECTED[name]
    mapped = mapped_of(sample(name))
    observation = the_observation(mapped)
    assert mapped.message_key.startswith(f"{template}|{SAMPLE_ID}|sha256:")
    assert [(c["system"], c["code"]) for c in observation["code"]["coding"]] == [
        (LOINC, code) for code in codes
    ]
    assert observation["category"][0]["coding"][0]["code"] == category
    assert observation["status"] == "final"
    assert observation.get("valueQuantity") == value
    assert {k: v for k, v in observation.items() if k.startswith("effective")} == effective
    (device,) = of_type(mapped, "Device")
    assert device["identifier"] == [{"system": SOURCE, "value": "RunKeeper"}]
    assert "patient" not in device  # a source app is shared by many users
    assert observation["device"] == {"reference": entry_of(mapped, device)["fullUrl"]}


def test_blood_pressure_is_a_panel_with_systolic_and_diastolic() -> None:
    observation = the_observation(mapped_of(sample(BLOOD_PRESSURE)))
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in observation["component"]
    ] == [
        ("8480-6", quantity(115, "mm[Hg]", "mmHg")),
        ("8462-4", quantity(60, "mm[Hg]", "mmHg")),
    ]


@pytest.mark.parametrize("name", [n for n in VALID if n != WEIGHT])
def test_the_user_id_is_the_patient_identifier(name: str) -> None:
    observation = the_observation(mapped_of(sample(name)))
    assert observation["subject"] == {"reference": f"Patient?identifier={USER}|user1432"}


def test_without_user_id_the_device_is_the_subject() -> None:
    mapped = mapped_of(sample(WEIGHT))
    (device,) = of_type(mapped, "Device")
    assert of_type(mapped, "Patient") == []
    assert the_observation(mapped)["subject"] == {"reference": entry_of(mapped, device)["fullUrl"]}


def test_placeholder_policy_creates_the_user_as_a_patient() -> None:
    mapped = mapped_of(sample(HEART_RATE), "placeholder")
    (patient,) = of_type(mapped, "Patient")
    assert patient["identifier"] == [{"system": USER, "value": "user1432"}]
    assert the_observation(mapped)["subject"] == {"reference": entry_of(mapped, patient)["fullUrl"]}


def test_step_count_as_a_bare_number_in_version_2() -> None:
    observation = the_observation(mapped_of(sample(STEPS_V2)))
    assert observation["valueQuantity"] == quantity(6000, "{steps}", "steps")


def test_glucose_in_mmol_per_litre_takes_the_molar_loinc_code() -> None:
    def molar(data: dict[str, Any]) -> None:
        data["body"]["blood_glucose"] = {"unit": "mmol/L", "value": 5.3}

    observation = the_observation(mapped_of(edited(GLUCOSE, molar)))
    assert observation["code"]["coding"][0]["code"] == "15074-8"
    assert observation["valueQuantity"] == quantity(5.3, "mmol/L", "mmol/L")


@pytest.mark.parametrize(
    ("unit", "code", "display"),
    [("C", "Cel", "°C"), ("F", "[degF]", "°F"), ("K", "K", "K")],
)
def test_temperature_units_become_ucum(unit: str, code: str, display: str) -> None:
    payload = edited(TEMPERATURE, lambda d: d["body"]["body_temperature"].update(unit=unit))
    assert the_observation(mapped_of(payload))["valueQuantity"] == quantity(97, code, display)


@pytest.mark.parametrize(
    ("unit", "code"), [("kg", "kg"), ("g", "g"), ("lb", "[lb_av]"), ("oz", "[oz_av]")]
)
def test_weight_units_become_ucum(unit: str, code: str) -> None:
    payload = edited(WEIGHT, lambda d: d["body"]["body_weight"].update(unit=unit))
    assert the_observation(mapped_of(payload))["valueQuantity"]["code"] == code


@pytest.mark.parametrize(
    ("interval", "period"),
    [
        (
            "time-interval-2.0-start-time-duration",
            {"start": "2013-02-05T07:25:00+00:00", "end": "2013-02-15T07:25:00+00:00"},
        ),
        (
            "ieee-time-interval-1.0-end-time-duration",  # 10.9 days before the end
            {"start": "2013-01-25T09:59:00+00:00", "end": "2013-02-05T07:35:00+00:00"},
        ),
    ],
)
def test_a_time_interval_with_a_duration_is_a_period(interval: str, period: dict[str, str]) -> None:
    frame = {"time_interval": document(interval)}
    payload = edited(HEART_RATE, lambda d: d["body"].update(effective_time_frame=frame))
    assert the_observation(mapped_of(payload))["effectivePeriod"] == period


@pytest.mark.parametrize("name", VALID)
def test_a_resend_maps_to_the_same_create_once_entries(name: str) -> None:
    mapped = mapped_of(sample(name))
    observation = the_observation(mapped)
    (identifier,) = observation["identifier"]
    assert identifier["system"] == READING_SYSTEM
    request = entry_of(mapped, observation)["request"]
    assert request == {
        "method": "POST",
        "url": "Observation",
        "ifNoneExist": f"identifier={READING_SYSTEM}|{identifier['value']}",
    }
    again = mapped_of(sample(name))
    assert (again.message_key, again.bundle_entries) == (mapped.message_key, mapped.bundle_entries)


def test_the_message_key_is_the_header_id_qualified_by_the_content() -> None:
    key = MAPPER.message_key(sample(HEART_RATE))
    reserialized = json.dumps(document(HEART_RATE), sort_keys=True).encode()
    assert MAPPER.message_key(reserialized) == key  # a resend is a duplicate
    # the official samples share one header id: another data point under it is still mapped
    other = MAPPER.message_key(sample("heart-rate-2.0-incorrect-unit"))
    assert other is not None
    assert other.startswith(f"omh-heart-rate|{SAMPLE_ID}|")
    assert other != key


def test_readings_of_two_users_of_one_source_at_one_instant_stay_distinct() -> None:
    def other_user(data: dict[str, Any]) -> None:
        data["header"].update(id="another-data-point", user_id="user2")

    first = the_observation(mapped_of(sample(SPO2)))
    second = the_observation(mapped_of(edited(SPO2, other_user)))
    assert first["identifier"] != second["identifier"]


def test_every_sample_has_its_own_identifier() -> None:
    identifiers = {
        the_observation(mapped_of(sample(name)))["identifier"][0]["value"] for name in VALID
    }
    assert len(identifiers) == len(VALID)


def test_a_batch_maps_every_data_point_into_one_transaction() -> None:
    batch = json.dumps([document(name) for name in VALID]).encode()
    mapped = mapped_of(batch, "placeholder")
    codes = [o["code"]["coding"][0]["code"] for o in of_type(mapped, "Observation")]
    assert codes == [EXPECTED[name][1][0] for name in VALID]
    assert len(of_type(mapped, "Device")) == 1  # every sample comes from RunKeeper
    assert len(of_type(mapped, "Patient")) == 1  # and belongs to user1432 (or nobody)
    assert mapped.message_key.startswith("batch|sha256:")
    assert mapped_of(batch, "placeholder").bundle_entries == mapped.bundle_entries


def test_a_batch_of_one_is_the_data_point_itself() -> None:
    single = mapped_of(sample(HEART_RATE))
    batch = mapped_of(json.dumps([document(HEART_RATE)]).encode())
    assert batch.message_key == single.message_key
    assert batch.bundle_entries == single.bundle_entries
    assert MAPPER.message_key(sample(HEART_RATE)) == single.message_key


def test_a_batch_whose_data_points_lack_ids_is_keyed_by_content() -> None:
    points = [document(HEART_RATE), document(SPO2)]
    for point in points:
        del point["header"]["id"]
    payload = json.dumps(points).encode()
    assert MAPPER.message_key(payload) is None
    assert mapped_of(payload).message_key == content_key(payload)


def test_unknown_schema_in_a_batch_names_the_element() -> None:
    batch = json.dumps([document(HEART_RATE), document("data-point-1.0-invalid-header")])
    with pytest.raises(MappingError) as caught:
        MAPPER.map(batch.encode(), make_ctx())
    assert (caught.value.code, caught.value.location) == ("unsupported-message", "[1]")


def test_a_bad_element_of_a_batch_is_located_in_it() -> None:
    batch = json.dumps([document(HEART_RATE), document("heart-rate-2.0-incorrect-unit")])
    with pytest.raises(MappingError) as caught:
        MAPPER.map(batch.encode(), make_ctx())
    assert caught.value.code == "unknown-code"
    assert caught.value.location == "[1].omh-heart-rate.readings[0].unit_by"


def _drop_frame(data: dict[str, Any]) -> None:
    del data["body"]["effective_time_frame"]


def _drop_source(data: dict[str, Any]) -> None:
    del data["header"]["acquisition_provenance"]


def _drop_diastolic(data: dict[str, Any]) -> None:
    del data["body"]["diastolic_blood_pressure"]


def _reverse_period(data: dict[str, Any]) -> None:
    data["body"]["effective_time_frame"]["time_interval"]["end_date_time"] = "2019-01-01T00:00:00Z"


def _weeks_as_fortnights(data: dict[str, Any]) -> None:
    frame = {"start_date_time": "2013-02-05T07:25:00Z", "duration": {"value": 1, "unit": "fn"}}
    data["body"]["effective_time_frame"] = {"time_interval": frame}


def _text_value(data: dict[str, Any]) -> None:
    data["body"]["heart_rate"]["value"] = "fast"


@pytest.mark.parametrize(
    ("payload", "code", "location", "reason"),
    [
        (
            sample("data-point-1.0-invalid-header"),  # omh:physical-activity has no template
            "unsupported-message",
            None,
            "no device template matches this payload",
        ),
        (
            sample("body-weight-3.0-missing-body-weight-value"),
            "required-missing",
            "omh-body-weight.readings[0].value",
            "required value missing at 'body.body_weight.value'",
        ),
        (
            sample("heart-rate-2.0-incorrect-unit"),
            "unknown-code",
            "omh-heart-rate.readings[0].unit_by",
            "unit 'beat/min' is not one of 'beats/min'",
        ),
        (
            edited(GLUCOSE, lambda d: d["body"]["blood_glucose"].update(unit="g/L")),
            "unknown-code",
            "omh-blood-glucose.readings[0].unit_by",
            "unit 'g/L' is not one of 'mg/dL', 'mmol/L'",
        ),
        (
            edited(HEART_RATE, lambda d: d["body"]["heart_rate"].pop("unit")),
            "required-missing",
            "omh-heart-rate.readings[0].unit_by.key",
            "no unit at 'body.heart_rate.unit'",
        ),
        (
            edited(BLOOD_PRESSURE, _drop_diastolic),
            "required-missing",
            "omh-blood-pressure.readings[0].components[1].value",
            "required value missing at 'body.diastolic_blood_pressure.value'",
        ),
        (
            edited(HEART_RATE, _text_value),
            "invalid-value",
            "omh-heart-rate.readings[0].value",
            "'fast' is not a number",
        ),
        (
            edited(HEART_RATE, _drop_frame),
            "required-missing",
            "omh-heart-rate.effective",
            "no timestamp at omh-heart-rate.effective",
        ),
        (
            edited(HEART_RATE, _reverse_period),
            "invalid-value",
            "omh-heart-rate.effective",
            "the period ends before it starts",
        ),
        (
            edited(HEART_RATE, _weeks_as_fortnights),
            "invalid-value",
            "omh-heart-rate.effective.duration",
            "duration unit 'fn' is not one of",
        ),
        (
            edited(SPO2, _drop_source),
            "required-missing",
            "omh-oxygen-saturation.device.id",
            "no identifier at 'header.acquisition_provenance.source_name'",
        ),
        (b"[]", "required-missing", None, "the payload is an empty list"),
    ],
    ids=[
        "unknown-schema",
        "missing-value",
        "bad-unit",
        "unknown-glucose-unit",
        "missing-unit",
        "missing-diastolic",
        "text-value",
        "missing-time-frame",
        "period-ends-before-start",
        "bad-duration-unit",
        "missing-source-name",
        "empty-batch",
    ],
)
def test_payload_problems_are_clear_mapping_errors(
    payload: bytes, code: str, location: str | None, reason: str
) -> None:
    with pytest.raises(MappingError) as caught:
        MAPPER.map(payload, make_ctx())
    assert (caught.value.code, caught.value.location) == (code, location)
    assert reason in caught.value.reason
