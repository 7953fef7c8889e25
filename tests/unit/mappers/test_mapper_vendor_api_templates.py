"""Vendor cloud API responses (Dexcom, Fitbit, Withings) through the bundled templates.

The samples are in tests/fixtures/devices/vendor-apis (README.md there names their
sources); Fitbit responses, which name no user, come in the forwarder envelope.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mapper_fixtures import FIXTURES, assert_valid, entry_of, fixture_bytes, make_ctx, of_type

from fhir_server.ingest.spec import (
    READING_SYSTEM,
    MappedMessage,
    MappingError,
    UnknownPatientPolicy,
)
from mappers.devices.mapper import TemplateMapper

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MAPPER = TemplateMapper()

DEXCOM = "dexcom-egvs-v3"
FITBIT_HEART = "fitbit-heart-intraday-by-date"
FITBIT_SPO2 = "fitbit-spo2-intraday-by-date"
WITHINGS_SCALE = "withings-getmeas-body-comp-pro"
WITHINGS_BPM = "withings-getmeas-bpm-core"

DEXCOM_USER = "5b329ebcfbf2f0ba7e49d4c5eb57775468f5ee657ac16fcde07e1fd08197b4c7"
DEXCOM_TRANSMITTER = "cdb4f8eea4392295413c64d5bc7a9e0e0ee9b215fb43c5a6d71d4431e540046b"
WITHINGS_SCALE_ID = "7df35c0a18c61a7009072621879658d91467dcb3"


def sample(name: str) -> bytes:
    return fixture_bytes(f"devices/vendor-apis/{name}.json")


def document(name: str) -> Any:
    return json.loads(sample(name))


def encoded(data: Any) -> bytes:
    return json.dumps(data).encode()


def edited(name: str, change: Any) -> bytes:
    data = document(name)
    change(data)
    return encoded(data)


def mapped_of(payload: bytes, policy: UnknownPatientPolicy = "hold") -> MappedMessage:
    return assert_valid(MAPPER.map(payload, make_ctx(policy)))


def observations(mapped: MappedMessage) -> list[dict[str, Any]]:
    return of_type(mapped, "Observation")


def quantity(value: float, code: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def codes(observation: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for c in observation["code"]["coding"]]


def identifiers(mapped: MappedMessage) -> list[str]:
    return [o["identifier"][0]["value"] for o in observations(mapped)]


def refused(payload: bytes) -> MappingError:
    with pytest.raises(MappingError) as caught:
        MAPPER.map(payload, make_ctx())
    return caught.value


def withings_envelope(name: str, user: str = "12345678") -> bytes:
    return encoded({"forwarded": {"api": "withings", "user_id": user}, "response": document(name)})


# Dexcom API v3 /egvs ------------------------------------------------------------------


def test_dexcom_egv_is_a_cgm_sensor_reading_of_the_user() -> None:
    mapped = mapped_of(sample(DEXCOM))
    (egv,) = observations(mapped)
    assert codes(egv) == [(LOINC, "99504-3")]
    assert egv["category"][0]["coding"][0]["code"] == "laboratory"
    assert egv["valueQuantity"] == quantity(39, "mg/dL")
    assert egv["effectiveDateTime"] == "2025-01-30T23:49:55+00:00"  # systemTime, UTC
    patient = f"Patient?identifier=urn:dexcom:user-id|{DEXCOM_USER}"
    assert egv["subject"] == {"reference": patient}
    (device,) = of_type(mapped, "Device")
    assert device["identifier"] == [
        {"system": "urn:dexcom:transmitter-id", "value": DEXCOM_TRANSMITTER}
    ]
    assert (device["manufacturer"], device["modelNumber"]) == ("Dexcom", "g7")
    assert device["patient"] == {"reference": patient}
    assert egv["device"] == {"reference": entry_of(mapped, device)["fullUrl"]}
    assert mapped.message_key.startswith(f"dexcom-egvs-v3|{DEXCOM_USER}|sha256:")


def test_dexcom_mmol_per_litre_takes_the_molar_interstitial_code() -> None:
    def molar(data: dict[str, Any]) -> None:
        data["records"][0].update(unit="mmol/L", value=2.2, rateUnit="mmol/L/min")

    (egv,) = observations(mapped_of(edited(DEXCOM, molar)))
    assert codes(egv) == [(LOINC, "105272-9")]
    assert egv["valueQuantity"] == quantity(2.2, "mmol/L")


def test_dexcom_receiver_times_without_offset_are_utc() -> None:
    def receiver(data: dict[str, Any]) -> None:
        data["records"][0].update(systemTime="2025-01-30T23:49:55", displayDevice="receiver")

    (egv,) = observations(mapped_of(edited(DEXCOM, receiver)))
    assert egv["effectiveDateTime"] == "2025-01-30T23:49:55+00:00"
    assert identifiers(mapped_of(sample(DEXCOM))) == [egv["identifier"][0]["value"]]


def test_dexcom_records_of_two_transmitters_make_two_devices() -> None:
    def two_sensors(data: dict[str, Any]) -> None:
        later = dict(data["records"][0], recordId="r-2", transmitterId="8HX3LM", value=120)
        later["systemTime"] = "2025-01-30T23:54:55Z"
        data["records"].append(later)

    mapped = mapped_of(edited(DEXCOM, two_sensors))
    devices = {
        entry_of(mapped, d)["fullUrl"]: d["identifier"][0]["value"]
        for d in of_type(mapped, "Device")
    }
    assert sorted(devices.values()) == sorted([DEXCOM_TRANSMITTER, "8HX3LM"])
    assert [
        (devices[o["device"]["reference"]], o["valueQuantity"]["value"])
        for o in observations(mapped)
    ] == [
        (DEXCOM_TRANSMITTER, 39),
        ("8HX3LM", 120),
    ]


def test_dexcom_record_id_is_part_of_the_reading_identifier() -> None:
    other = edited(DEXCOM, lambda d: d["records"][0].update(recordId="another-record"))
    assert identifiers(mapped_of(other)) != identifiers(mapped_of(sample(DEXCOM)))


def test_dexcom_record_without_value_is_skipped() -> None:
    mapped = mapped_of(edited(DEXCOM, lambda d: d["records"][0].update(value=None)))
    assert observations(mapped) == []
    assert len(of_type(mapped, "Device")) == 1


@pytest.mark.parametrize(
    ("change", "code", "location"),
    [
        (
            lambda d: d["records"][0].update(unit="unknown"),
            "unknown-code",
            "records[0].dexcom-egvs-v3.readings[0].unit_by",
        ),
        (
            lambda d: d["records"][0].update(transmitterId=None),
            "required-missing",
            "records[0].dexcom-egvs-v3.device.id",
        ),
        (
            lambda d: d["records"][0].update(systemTime="soon"),
            "invalid-value",
            "records[0].dexcom-egvs-v3.timestamp",
        ),
        (
            lambda d: d["records"][0].update(value="low"),
            "invalid-value",
            "records[0].dexcom-egvs-v3.readings[0].value",
        ),
        (lambda d: d.update(records=[]), "required-missing", "dexcom-egvs-v3.records"),
        (lambda d: d.update(recordVersion="2.0"), "unsupported-message", None),
        (lambda d: d.update(recordType="calibration"), "unsupported-message", None),
    ],
)
def test_dexcom_problems(change: Any, code: str, location: str | None) -> None:
    error = refused(edited(DEXCOM, change))
    assert (error.code, error.location) == (code, location)


# Fitbit Web API (forwarder envelope) -------------------------------------------------


def test_fitbit_intraday_heart_rate_in_the_users_time_zone() -> None:
    mapped = mapped_of(sample(FITBIT_HEART))
    points = observations(mapped)
    assert [(o["effectiveDateTime"], o["valueQuantity"]["value"]) for o in points] == [
        ("2019-01-01T00:00:00-08:00", 64),
        ("2019-01-01T00:00:10-08:00", 63),
        ("2019-01-01T00:00:20-08:00", 64),
        ("2019-01-01T00:00:30-08:00", 65),
        ("2019-01-01T00:00:45-08:00", 65),
    ]
    assert {tuple(codes(o)) for o in points} == {((LOINC, "8867-4"),)}
    assert points[0]["valueQuantity"] == quantity(64, "/min", "beats/minute")
    assert {o["subject"]["reference"] for o in points} == {
        "Patient?identifier=urn:fitbit:user-id|GGNJL9"
    }
    (device,) = of_type(mapped, "Device")
    assert device["identifier"] == [{"system": "urn:fitbit:account", "value": "GGNJL9"}]
    assert len(set(identifiers(mapped))) == 5
    assert mapped.message_key.startswith("fitbit-heart-intraday|GGNJL9|sha256:")


def test_fitbit_times_requested_in_utc_are_other_instants() -> None:
    utc = edited(FITBIT_HEART, lambda d: d["forwarded"].update(timezone="UTC"))
    mapped = mapped_of(utc)
    assert observations(mapped)[0]["effectiveDateTime"] == "2019-01-01T00:00:00+00:00"
    assert not set(identifiers(mapped)) & set(identifiers(mapped_of(sample(FITBIT_HEART))))


def test_fitbit_overlapping_polls_create_each_reading_once() -> None:
    def later_poll(data: dict[str, Any]) -> None:
        dataset = data["response"]["activities-heart-intraday"]["dataset"]
        dataset.append({"time": "00:01:00", "value": 66})

    first, second = mapped_of(sample(FITBIT_HEART)), mapped_of(edited(FITBIT_HEART, later_poll))
    assert first.message_key != second.message_key
    assert identifiers(second)[:5] == identifiers(first)
    assert [
        e["request"]["ifNoneExist"]
        for e in first.bundle_entries
        if e["resource"]["resourceType"] == "Observation"
    ] == [f"identifier={READING_SYSTEM}|{value}" for value in identifiers(first)]


def test_fitbit_spo2_intraday_by_date() -> None:
    mapped = mapped_of(sample(FITBIT_SPO2))
    points = observations(mapped)
    assert [(o["effectiveDateTime"], o["valueQuantity"]) for o in points] == [
        ("2021-10-04T04:02:17-07:00", quantity(95.7, "%")),
        ("2021-10-04T04:03:17-07:00", quantity(99.5, "%")),
        ("2021-10-04T04:04:17-07:00", quantity(99.0, "%")),
    ]
    assert codes(points[0]) == [(LOINC, "59408-5"), (LOINC, "2708-6")]
    assert points[0]["subject"] == {"reference": "Patient?identifier=urn:fitbit:user-id|GGNJL9"}
    assert mapped.message_key.startswith("fitbit-spo2-intraday|GGNJL9|sha256:")


def test_fitbit_spo2_by_interval_is_a_list_of_days() -> None:
    day = document(FITBIT_SPO2)["response"]
    next_day = {
        "dateTime": "2021-10-05",
        "minutes": [{"value": 97.1, "minute": "2021-10-05T03:00:17"}],
    }
    payload = edited(FITBIT_SPO2, lambda d: d.update(response=[day, next_day]))
    points = observations(mapped_of(payload))
    assert [o["valueQuantity"]["value"] for o in points] == [95.7, 99.5, 99.0, 97.1]
    assert points[-1]["effectiveDateTime"] == "2021-10-05T03:00:17-07:00"


def test_fitbit_placeholder_policy_creates_the_user() -> None:
    mapped = mapped_of(sample(FITBIT_SPO2), "placeholder")
    (patient,) = of_type(mapped, "Patient")
    assert patient["identifier"] == [{"system": "urn:fitbit:user-id", "value": "GGNJL9"}]
    assert observations(mapped)[0]["subject"] == {"reference": entry_of(mapped, patient)["fullUrl"]}


def _no_dataset(data: dict[str, Any]) -> None:
    data["response"]["activities-heart-intraday"]["dataset"] = []


@pytest.mark.parametrize(
    ("name", "change", "code", "location"),
    [
        (
            FITBIT_HEART,
            lambda d: d["forwarded"].pop("timezone"),
            "required-missing",
            "records[0].fitbit-heart-intraday.timezone_from",
        ),
        (
            FITBIT_HEART,
            lambda d: d["forwarded"].update(timezone="Mars/Olympus"),
            "invalid-value",
            "records[0].fitbit-heart-intraday.timezone_from",
        ),
        (
            FITBIT_HEART,
            lambda d: d["forwarded"].pop("user_id"),
            "required-missing",
            "records[0].fitbit-heart-intraday.device.id",
        ),
        (FITBIT_HEART, _no_dataset, "required-missing", "fitbit-heart-intraday.records"),
        (
            FITBIT_SPO2,
            lambda d: d["forwarded"].pop("user_id"),
            "required-missing",
            "fitbit-spo2-intraday.device.id",
        ),
        (
            FITBIT_SPO2,
            lambda d: d["response"]["minutes"][0].update(value="--"),
            "invalid-value",
            "fitbit-spo2-intraday.readings[0].value",
        ),
    ],
)
def test_fitbit_problems(name: str, change: Any, code: str, location: str) -> None:
    error = refused(edited(name, change))
    assert (error.code, error.location) == (code, location)


@pytest.mark.parametrize("name", [FITBIT_HEART, FITBIT_SPO2])
def test_a_fitbit_response_without_the_envelope_matches_no_template(name: str) -> None:
    error = refused(encoded(document(name)["response"]))
    assert error.code == "unsupported-message"


# Withings Measure getmeas ---------------------------------------------------------------


def test_withings_weight_is_value_times_ten_to_the_unit() -> None:
    mapped = mapped_of(sample(WITHINGS_SCALE))
    (weight,) = observations(mapped)
    assert codes(weight) == [(LOINC, "29463-7")]
    assert weight["valueQuantity"] == quantity(75.232, "kg")  # 75232 x 10^-3
    assert weight["effectiveDateTime"] == "2024-04-10T00:22:33-04:00"  # body.timezone
    (device,) = of_type(mapped, "Device")
    assert device["identifier"] == [
        {"system": "urn:withings:hash-deviceid", "value": WITHINGS_SCALE_ID}
    ]
    assert (device["manufacturer"], device["modelNumber"]) == ("Withings", "Body Comp Pro")
    assert "patient" not in device  # a scale is shared
    # the bare response names no user: the Device is the subject
    assert weight["subject"] == {"reference": entry_of(mapped, device)["fullUrl"]}
    assert mapped.message_key.startswith("withings-getmeas|1712722989|sha256:")


def test_withings_in_the_envelope_is_the_users() -> None:
    mapped = mapped_of(withings_envelope(WITHINGS_SCALE))
    (weight,) = observations(mapped)
    assert weight["subject"] == {"reference": "Patient?identifier=urn:withings:userid|12345678"}
    assert weight["valueQuantity"]["value"] == 75.232
    assert "patient" not in of_type(mapped, "Device")[0]


def test_withings_blood_pressure_groups_are_panels_with_a_pulse() -> None:
    mapped = mapped_of(sample(WITHINGS_BPM))
    summary = [
        (
            o["code"]["coding"][0]["code"],
            o["effectiveDateTime"],
            [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in o.get("component", [])],
            o.get("valueQuantity"),
        )
        for o in observations(mapped)
    ]
    mmhg = "mm[Hg]"
    assert summary == [
        (
            "85354-9",
            "2023-07-27T22:59:36+02:00",
            [("8480-6", quantity(109, mmhg, "mmHg")), ("8462-4", quantity(89, mmhg, "mmHg"))],
            None,
        ),
        ("8867-4", "2023-07-27T22:59:36+02:00", [], quantity(88, "/min", "beats/minute")),
        (
            "85354-9",
            "2023-07-27T22:53:56+02:00",
            [("8480-6", quantity(92, mmhg, "mmHg")), ("8462-4", quantity(65, mmhg, "mmHg"))],
            None,
        ),
        ("8867-4", "2023-07-27T22:53:56+02:00", [], quantity(88, "/min", "beats/minute")),
    ]
    assert len(of_type(mapped, "Device")) == 1  # both groups from one BPM Core
    assert len(set(identifiers(mapped))) == 4


def _measures(*measures: dict[str, Any]) -> bytes:
    data = document(WITHINGS_SCALE)
    data["body"]["measuregrps"][0]["measures"] = list(measures)
    return encoded(data)


@pytest.mark.parametrize(
    ("measure", "code", "value"),
    [
        ({"type": 1, "value": 7240, "unit": -2}, "29463-7", quantity(72.4, "kg")),
        ({"type": 4, "value": 180, "unit": -2}, "8302-2", quantity(1.8, "m")),
        ({"type": 11, "value": 61, "unit": 0}, "8867-4", quantity(61, "/min", "beats/minute")),
        ({"type": 71, "value": 36650, "unit": -3}, "8310-5", quantity(36.65, "Cel", "°C")),
        ({"type": 12, "value": 372, "unit": -1}, "8310-5", quantity(37.2, "Cel", "°C")),
        ({"type": 54, "value": 97, "unit": 0}, "59408-5", quantity(97, "%")),
        ({"type": 1, "value": 75, "unit": 3}, "29463-7", quantity(75000, "kg")),
    ],
)
def test_withings_measure_types(measure: dict[str, Any], code: str, value: dict[str, Any]) -> None:
    (observation,) = observations(mapped_of(_measures(measure)))
    assert (observation["code"]["coding"][0]["code"], observation["valueQuantity"]) == (code, value)


def test_withings_body_temperature_wins_over_temperature_in_one_group() -> None:
    both = _measures(
        {"type": 12, "value": 350, "unit": -1}, {"type": 71, "value": 3680, "unit": -2}
    )
    (temperature,) = observations(mapped_of(both))
    assert temperature["valueQuantity"]["value"] == 36.8


def test_withings_unmapped_measure_types_are_skipped() -> None:
    mapped = mapped_of(
        _measures({"type": 76, "value": 5000, "unit": -2}, {"type": 88, "value": 3, "unit": 0})
    )
    assert observations(mapped) == []


def test_withings_objectives_ambiguous_and_manual_groups_are_left_out() -> None:
    def others(data: dict[str, Any]) -> None:
        group = data["body"]["measuregrps"][0]
        data["body"]["measuregrps"] = [
            group,
            dict(group, grpid=1, category=2),  # a user objective
            dict(group, grpid=2, attrib=1),  # may be another user's
            dict(group, grpid=3, attrib=2, deviceid=None, hash_deviceid=None),  # typed in
        ]

    assert len(observations(mapped_of(edited(WITHINGS_SCALE, others)))) == 1


def test_withings_a_later_response_with_the_same_group_creates_nothing_new() -> None:
    def later(data: dict[str, Any]) -> None:
        data["body"]["updatetime"] = 1712730000

    first, second = mapped_of(sample(WITHINGS_SCALE)), mapped_of(edited(WITHINGS_SCALE, later))
    assert first.message_key != second.message_key
    assert identifiers(first) == identifiers(second)


def _only_objectives(data: dict[str, Any]) -> None:
    data["body"]["measuregrps"][0]["category"] = 2


@pytest.mark.parametrize(
    ("payload", "code", "location"),
    [
        (
            _measures({"type": 1, "value": 75232}),
            "required-missing",
            "records[0].withings-getmeas.readings[0].exponent",
        ),
        (
            _measures({"type": 1, "value": 75232, "unit": "-3"}),
            "invalid-value",
            "records[0].withings-getmeas.readings[0].exponent",
        ),
        (
            _measures({"type": 1, "value": 75232, "unit": -30}),
            "invalid-value",
            "records[0].withings-getmeas.readings[0].exponent",
        ),
        (
            _measures({"type": 9, "value": 80, "unit": 0.5}),
            "invalid-value",
            "records[0].withings-getmeas.readings[2].components[1].exponent",
        ),
        (edited(WITHINGS_SCALE, _only_objectives), "required-missing", "withings-getmeas.records"),
        (
            edited(WITHINGS_SCALE, lambda d: d["body"].update(timezone="Nowhere/Town")),
            "invalid-value",
            "records[0].withings-getmeas.timezone_from",
        ),
        (
            encoded({"status": 401, "body": {}, "error": "invalid_token"}),
            "unsupported-message",
            None,
        ),
    ],
)
def test_withings_problems(payload: bytes, code: str, location: str | None) -> None:
    error = refused(payload)
    assert (error.code, error.location) == (code, location)


# Every template ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        sample(DEXCOM),
        sample(FITBIT_HEART),
        sample(FITBIT_SPO2),
        sample(WITHINGS_SCALE),
        withings_envelope(WITHINGS_BPM),
    ],
)
def test_a_resend_maps_to_the_same_message_key_and_entries(payload: bytes) -> None:
    first = mapped_of(payload)
    again = mapped_of(json.dumps(json.loads(payload), indent=1, sort_keys=True).encode())
    assert (again.message_key, again.bundle_entries) == (first.message_key, first.bundle_entries)
    assert MAPPER.message_key(payload) == first.message_key
    for observation in observations(first):
        (identifier,) = observation["identifier"]
        assert (
            entry_of(first, observation)["request"]["ifNoneExist"]
            == f"identifier={READING_SYSTEM}|{identifier['value']}"
        )


def test_a_batch_of_vendor_responses_is_one_transaction() -> None:
    batch = encoded([document(DEXCOM), document(WITHINGS_SCALE), document(FITBIT_SPO2)])
    mapped = mapped_of(batch)
    assert [o["code"]["coding"][0]["code"] for o in observations(mapped)] == [
        "99504-3",
        "29463-7",
        "59408-5",
        "59408-5",
        "59408-5",
    ]


# which template each fixture under tests/fixtures/devices/ is for (None: none of them)
FIXTURE_TEMPLATES: dict[str, str | None] = {
    "glucostream_egvs.json": "glucostream-cgm",
    "omnicuff_session.json": "omnicuff-bp",
    "pulsewave_batch.json": "pulsewave-wrist",
    "openmhealth/blood-glucose-4.0-with-everything.json": "omh-blood-glucose",
    "openmhealth/blood-pressure-4.0-blood-pressure-only.json": "omh-blood-pressure",
    "openmhealth/body-temperature-4.0-valid-temperature.json": "omh-body-temperature",
    "openmhealth/body-weight-3.0-missing-body-weight-value.json": "omh-body-weight",
    "openmhealth/body-weight-3.0-with-descriptive-statistic.json": "omh-body-weight",
    "openmhealth/data-point-1.0-invalid-header.json": None,
    "openmhealth/heart-rate-2.0-incorrect-unit.json": "omh-heart-rate",
    "openmhealth/heart-rate-2.0-with-descriptive-statistic.json": "omh-heart-rate",
    "openmhealth/ieee-time-interval-1.0-end-time-duration.json": None,
    "openmhealth/oxygen-saturation-2.0-saturation-only.json": "omh-oxygen-saturation",
    "openmhealth/respiratory-rate-3.0-respiratory-rate-only.json": "omh-respiratory-rate",
    "openmhealth/step-count-2.0-valid-step-count.json": "omh-step-count",
    "openmhealth/step-count-3.0-valid-step-count.json": "omh-step-count",
    "openmhealth/time-interval-2.0-start-time-duration.json": None,
    "vendor-apis/dexcom-egvs-v3.json": "dexcom-egvs-v3",
    "vendor-apis/fitbit-heart-intraday-by-date.json": "fitbit-heart-intraday",
    "vendor-apis/fitbit-spo2-intraday-by-date.json": "fitbit-spo2-intraday",
    "vendor-apis/withings-getmeas-body-comp-pro.json": "withings-getmeas",
    "vendor-apis/withings-getmeas-bpm-core.json": "withings-getmeas",
}
DEVICE_FIXTURES = FIXTURES / "devices"


def _matching(data: Any) -> list[str]:
    """Every bundled template whose match is true for ``data``, whatever the order."""
    names = []
    for template in MAPPER.templates:
        try:
            if TemplateMapper([template]).template_for(data):
                names.append(template.name)
        except MappingError:
            continue
    return names


def test_every_device_fixture_is_listed() -> None:
    found = {str(p.relative_to(DEVICE_FIXTURES)) for p in DEVICE_FIXTURES.rglob("*.json")}
    assert found == set(FIXTURE_TEMPLATES)


@pytest.mark.parametrize(("relative", "template"), FIXTURE_TEMPLATES.items())
def test_each_fixture_matches_exactly_its_own_template(relative: str, template: str | None) -> None:
    data = json.loads((DEVICE_FIXTURES / relative).read_text())
    assert _matching(data) == ([template] if template else [])


@pytest.mark.parametrize("path", sorted((DEVICE_FIXTURES / "vendor-apis").glob("*.json")))
def test_no_template_matches_a_batch_as_a_whole(path: Path) -> None:
    assert _matching([json.loads(path.read_text())]) == []  # its elements are matched
