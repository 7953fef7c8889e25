from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mapper_fixtures import FIXTURES, assert_valid, make_ctx

from fhir_server.ingest.spec import MappedMessage, MappingError
from mappers.devices.loader import (
    TemplateError,
    bundled_templates,
    load_directory,
    load_template,
    parse_template,
)
from mappers.devices.mapper import TemplateMapper

VALID: dict[str, Any] = {
    "name": "acme-scale",
    "match": "vendor == 'acme'",
    "device": {"system": "urn:acme:serial", "id": "serial"},
    "patient": {"system": "urn:oid:1.2.3", "id": "mrn"},
    "timestamp": "at",
    "readings": [
        {
            "kind": "quantity",
            "code": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}],
            "value": "kg",
            "unit": {"code": "kg"},
        }
    ],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with one nested field replaced (``a.0.b`` addressing); None deletes it."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is None:
        del target[key]
    else:
        target[key] = value
    return data


def problems_of(data: dict[str, Any]) -> str:
    with pytest.raises(TemplateError) as caught:
        parse_template(data, "acme.yaml")
    assert caught.value.source == "acme.yaml"
    return str(caught.value)


def test_the_shipped_templates_load() -> None:
    names = [t.name for t in bundled_templates()]
    omh = ["blood-glucose", "blood-pressure", "body-temperature", "body-weight", "heart-rate"]
    omh += ["oxygen-saturation", "respiratory-rate", "step-count"]
    assert names == [
        "dexcom-egvs-v3",
        "fitbit-heart-intraday",
        "fitbit-spo2-intraday",
        "glucostream-cgm",
        *[f"omh-{n}" for n in omh],
        "omnicuff-bp",
        "pulsewave-wrist",
        "withings-getmeas",
    ]


def test_a_valid_template_maps_a_payload() -> None:
    mapper = TemplateMapper([parse_template(VALID)])
    payload = {
        "vendor": "acme",
        "serial": "S1",
        "mrn": "M1",
        "at": "2024-03-22T07:00:00Z",
        "kg": 80.5,
    }
    mapped = assert_valid(mapper.map(json.dumps(payload).encode(), make_ctx()))
    (weight,) = [r for r in mapped.resources if r["resourceType"] == "Observation"]
    assert weight["valueQuantity"] == {
        "value": 80.5,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "readings.0.value",
            "kg[",
            "readings.0.quantity.value: Value error, invalid JMESPath expression 'kg['",
        ),
        ("match", "", "match: String should have at least 1 character"),
        ("readings.0.vaule", "kg", "readings.0.quantity.vaule: Extra inputs are not permitted"),
        ("device", None, "device: Field required"),
        (
            "readings.0.kind",
            "histogram",
            "readings.0: Input tag 'histogram' found using 'kind' does not match",
        ),
        ("readings", [], "readings: List should have at least 1 item"),
        ("readings.0.code", [], "readings.0.quantity.code: List should have at least 1 item"),
        ("name", "Acme Scale", "name: String should match pattern"),
        ("timezone", "Mars/Base", "timezone: Value error, unknown time zone 'Mars/Base'"),
        (
            "timestamp_format",
            "rfc822",
            "timestamp_format: Input should be 'iso8601', 'epoch_s' or 'epoch_ms'",
        ),
        ("timestamp", None, "readings[0] has no timestamp and the template sets none"),
    ],
)
def test_invalid_templates_name_the_field(path: str, value: Any, expected: str) -> None:
    assert expected in problems_of(with_change(path, value))


def test_a_sampled_reading_needs_exactly_one_interval() -> None:
    sampled = {
        "kind": "sampled",
        "code": [{"system": "urn:iso:std:iso:11073:10101", "code": "131329"}],
        "data": "ecg",
        "unit": {"code": "uV"},
    }
    assert "exactly one of period_ms, sample_rate_hz" in problems_of(
        with_change("readings", [sampled])
    )
    both = {**sampled, "period_ms": 4, "sample_rate_hz": "hz"}
    assert "exactly one of period_ms, sample_rate_hz" in problems_of(
        with_change("readings", [both])
    )
    assert (
        parse_template(with_change("readings", [{**sampled, "period_ms": 4}])).readings[0].kind
        == "sampled"
    )


def test_every_problem_is_reported_at_once() -> None:
    data = with_change("match", "")
    data["device"]["id"] = "a["
    with pytest.raises(TemplateError) as caught:
        parse_template(data)
    assert len(caught.value.problems) == 2


def test_templates_load_from_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(VALID))
    (tmp_path / "b.json").write_text(json.dumps({**VALID, "name": "acme-scale-json"}))
    (tmp_path / "notes.txt").write_text("not a template")
    assert [t.name for t in load_directory(tmp_path)] == ["acme-scale", "acme-scale-json"]
    assert TemplateMapper.from_directory(tmp_path).templates[0].name == "acme-scale"


def test_duplicate_names_in_a_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(VALID))
    (tmp_path / "b.json").write_text(json.dumps(VALID))
    with pytest.raises(TemplateError, match="used twice"):
        load_directory(tmp_path)


@pytest.mark.parametrize(("name", "text"), [("bad.yaml", "name: [unclosed"), ("bad.json", "{")])
def test_unparseable_files_are_reported(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(TemplateError, match="cannot read"):
        load_template(tmp_path / name)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        load_template(tmp_path / "absent.yaml")


SITE_CODES = {
    "key": "site",
    "map": {
        "arm": [{"system": "http://loinc.org", "code": "8310-5"}],
        "7": [{"system": "http://loinc.org", "code": "8331-1"}],
    },
}


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        ({"code_by": SITE_CODES}, "a reading needs exactly one of code, code_by"),
        ({"code": None}, "a reading needs exactly one of code, code_by"),
        ({"unit": None}, "a quantity reading needs exactly one of unit, unit_by"),
        (
            {"unit_by": {"key": "u", "map": {"C": {"code": "Cel"}}}},
            "a quantity reading needs exactly one of unit, unit_by",
        ),
        (
            {"unit": None, "unit_by": {"key": "u[", "map": {"C": {"code": "Cel"}}}},
            "readings.0.quantity.unit_by.key: Value error, invalid JMESPath expression 'u['",
        ),
        (
            {"unit": None, "unit_by": {"key": "u", "map": {}}},
            "readings.0.quantity.unit_by.map: Dictionary should have at least 1 item",
        ),
        (
            {"code": None, "code_by": {"key": "site", "map": {"arm": []}}},
            "readings.0.quantity.code_by.map.arm: List should have at least 1 item",
        ),
        ({"effective": {}}, "effective needs date_time, start or end"),
        ({"effective": {"duration": "d"}}, "effective needs date_time, start or end"),
        ({"effective": {"date_time": "t", "duration": "d"}}, "duration needs start or end"),
        ({"timestamp": "t", "effective": {"start": "s"}}, "timestamp or effective, not both"),
        (
            {"required": "sometimes"},
            "readings.0.quantity.required: Input should be a valid boolean",
        ),
    ],
)
def test_invalid_lookups_and_effective_name_the_problem(
    reading: dict[str, Any], expected: str
) -> None:
    data = copy.deepcopy(VALID)
    data["readings"][0] = {
        k: v for k, v in {**data["readings"][0], **reading}.items() if v is not None
    }
    assert expected in problems_of(data)


def test_a_template_takes_timestamp_or_effective_not_both() -> None:
    data = {**VALID, "effective": {"date_time": "at"}}
    assert "a template takes timestamp or effective, not both" in problems_of(data)
    assert parse_template({**data, "timestamp": None}).effective is not None


def test_a_message_digest_needs_a_message_id() -> None:
    assert "message_digest needs message_id" in problems_of({**VALID, "message_digest": True})


def test_an_unknown_patient_field_is_refused() -> None:
    data = with_change("patient.optional", True)
    assert "patient.optional: Extra inputs are not permitted" in problems_of(data)


def _lookup_template(**changes: Any) -> TemplateMapper:
    reading = {
        "kind": "quantity",
        "foreach": "temps",
        "effective": {"date_time": "at", "start": "from", "end": "to", "duration": "took"},
        "code_by": SITE_CODES,
        "value": "v",
        "unit_by": {"key": "u", "map": {"C": {"code": "Cel", "display": "°C"}}},
        **changes,
    }
    data = {**VALID, "timestamp": None, "readings": [reading]}
    return TemplateMapper([parse_template({k: v for k, v in data.items() if v is not None})])


def _observations(mapper: TemplateMapper, temps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    payload = json.dumps({"vendor": "acme", "serial": "S1", "mrn": "M1", "temps": temps})
    mapped = assert_valid(mapper.map(payload.encode(), make_ctx()))
    return [r for r in mapped.resources if r["resourceType"] == "Observation"]


def test_lookups_choose_code_and_unit_per_element_and_effective_per_element() -> None:
    temps: list[dict[str, Any]] = [
        {"site": "arm", "u": "C", "v": 36.6, "at": "2024-03-22T07:00:00Z"},
        {
            "site": 7,
            "u": "C",
            "v": 37,
            "from": "2024-03-22T07:00:00Z",
            "took": {"value": 90, "unit": "min"},
        },
        {"site": "arm", "u": "C", "v": 36.9, "to": "2024-03-22T07:00:00+01:00"},
        {"site": "arm", "u": "C", "v": None, "at": "2024-03-22T08:00:00Z"},  # skipped
    ]
    first, second, third = _observations(_lookup_template(), temps)
    assert (first["code"]["coding"][0]["code"], first["effectiveDateTime"]) == (
        "8310-5",
        "2024-03-22T07:00:00+00:00",
    )
    assert first["valueQuantity"]["code"] == "Cel"
    assert second["code"]["coding"][0]["code"] == "8331-1"  # a number selects by its text
    assert second["effectivePeriod"] == {
        "start": "2024-03-22T07:00:00+00:00",
        "end": "2024-03-22T08:30:00+00:00",
    }
    assert third["effectivePeriod"] == {"end": "2024-03-22T07:00:00+01:00"}
    identifiers = {o["identifier"][0]["value"] for o in (first, second, third)}
    assert len(identifiers) == 3


@pytest.mark.parametrize(
    ("element", "code", "location"),
    [
        (
            {"site": "leg", "u": "C", "v": 1, "at": "2024-03-22T07:00:00Z"},
            "unknown-code",
            "code_by",
        ),
        ({"site": True, "u": "C", "v": 1, "at": "2024-03-22T07:00:00Z"}, "unknown-code", "code_by"),
        ({"u": "C", "v": 1, "at": "2024-03-22T07:00:00Z"}, "required-missing", "code_by.key"),
        (
            {"site": "arm", "u": "F", "v": 1, "at": "2024-03-22T07:00:00Z"},
            "unknown-code",
            "unit_by",
        ),
        ({"site": "arm", "u": "C", "v": 1}, "required-missing", "effective"),
        (
            {
                "site": "arm",
                "u": "C",
                "v": 1,
                "from": "2024-03-22T07:00:00Z",
                "took": {"value": -1, "unit": "h"},
            },
            "invalid-value",
            "effective.duration",
        ),
        (
            {"site": "arm", "u": "C", "v": 1, "from": "2024-03-22T07:00:00Z", "took": "1h"},
            "invalid-value",
            "effective.duration",
        ),
        ({"site": "arm", "u": "C", "v": 1, "from": "soon"}, "invalid-value", "effective.start"),
    ],
)
def test_lookup_and_effective_problems(element: dict[str, Any], code: str, location: str) -> None:
    with pytest.raises(MappingError) as caught:
        _observations(_lookup_template(), [element])
    assert (caught.value.code, caught.value.location) == (
        code,
        f"acme-scale.readings[0].{location}",
    )


def test_a_required_reading_missing_from_an_element_is_an_error() -> None:
    mapper = _lookup_template(required=True)
    with pytest.raises(MappingError) as caught:
        _observations(mapper, [{"site": "arm", "u": "C", "at": "2024-03-22T07:00:00Z"}])
    assert (caught.value.code, caught.value.location) == (
        "required-missing",
        "acme-scale.readings[0].value",
    )


def test_optional_patient_and_unlinked_device() -> None:
    data = copy.deepcopy(VALID)
    data["patient"]["required"] = False
    data["device"]["link_patient"] = False
    mapper = TemplateMapper([parse_template(data)])
    with_mrn = {
        "vendor": "acme",
        "serial": "S1",
        "mrn": "M1",
        "at": "2024-03-22T07:00:00Z",
        "kg": 80,
    }
    mapped = assert_valid(mapper.map(json.dumps(with_mrn).encode(), make_ctx()))
    (device,) = [r for r in mapped.resources if r["resourceType"] == "Device"]
    (weight,) = [r for r in mapped.resources if r["resourceType"] == "Observation"]
    assert "patient" not in device
    assert weight["subject"] == {"reference": "Patient?identifier=urn:oid:1.2.3|M1"}
    without = {**with_mrn, "mrn": " "}
    mapped = assert_valid(mapper.map(json.dumps(without).encode(), make_ctx()))
    (weight,) = [r for r in mapped.resources if r["resourceType"] == "Observation"]
    assert weight["subject"]["reference"].startswith("urn:uuid:")  # the Device


def test_reading_id_separates_records_that_share_device_code_and_time() -> None:
    record = {"vendor": "acme", "serial": "S1", "mrn": "M1", "at": "2024-03-22T07:00:00Z", "kg": 80}

    def identifier(template: dict[str, Any], rec: dict[str, Any]) -> str:
        mapper = TemplateMapper([parse_template(template)])
        mapped = mapper.map(json.dumps(rec).encode(), make_ctx())
        (weight,) = [r for r in mapped.resources if r["resourceType"] == "Observation"]
        return str(weight["identifier"][0]["value"])

    keyed = {**VALID, "reading_id": "rid"}
    assert identifier(VALID, {**record, "rid": 1}) == identifier(VALID, {**record, "rid": 2})
    assert identifier(keyed, {**record, "rid": 1}) != identifier(keyed, {**record, "rid": 2})
    assert identifier(keyed, {**record, "rid": 1}) == identifier(keyed, {**record, "rid": 1})


@pytest.mark.parametrize("payload", [b"[]", b"[1, 2]", b'"text"', b"7", b"null"])
def test_payloads_that_are_not_objects_are_mapping_errors(payload: bytes) -> None:
    with pytest.raises(MappingError) as caught:  # keys(@) of a match must not blow up
        TemplateMapper().map(payload, make_ctx())
    assert caught.value.code in {"unsupported-message", "required-missing"}
    assert TemplateMapper().message_key(payload) is None


def test_a_batch_maps_each_element_with_its_own_template() -> None:
    wrist = json.loads((FIXTURES / "devices/pulsewave_batch.json").read_text())
    cuff = json.loads((FIXTURES / "devices/omnicuff_session.json").read_text())
    payload = json.dumps([wrist, cuff]).encode()
    mapped = assert_valid(TemplateMapper().map(payload, make_ctx()))
    devices = [
        r["identifier"][0]["value"] for r in mapped.resources if r["resourceType"] == "Device"
    ]
    assert devices == ["PW3-7F3A21", "OC710-00A1B2C3"]
    alone = TemplateMapper().map(json.dumps(cuff).encode(), make_ctx())
    assert {e["fullUrl"] for e in alone.bundle_entries} <= {
        e["fullUrl"] for e in mapped.bundle_entries
    }
    assert mapped.message_key == TemplateMapper().message_key(payload)
    assert mapped.message_key not in {
        "pulsewave-wrist|pw-20240322-000173",
        "omnicuff-bp|sess-88213",
    }


def _weight(template: dict[str, Any], **record: Any) -> Any:
    """The weight valueQuantity (or Observations) a template maps from one acme record."""
    mapper = TemplateMapper([parse_template(template)])
    payload = {"vendor": "acme", "serial": "S1", "mrn": "M1", "at": "2024-03-22T07:00:00Z"}
    mapped = assert_valid(mapper.map(json.dumps({**payload, **record}).encode(), make_ctx()))
    return [r for r in mapped.resources if r["resourceType"] == "Observation"]


SCALED = with_change("readings.0.exponent", "e")


@pytest.mark.parametrize(
    ("kg", "exponent", "expected"),
    [
        (7240, -2, 72.4),
        (75232, -3, 75.232),
        (89, 0, 89),
        (5, 2, 500),
        ("36650", -3, 36.65),
        (0.1, 1, 1),
        (1, -20, 1e-20),
    ],
)
def test_an_exponent_scales_the_value_by_a_power_of_ten(
    kg: Any, exponent: int, expected: float
) -> None:
    (weight,) = _weight(SCALED, kg=kg, e=exponent)
    assert weight["valueQuantity"]["value"] == expected
    assert type(weight["valueQuantity"]["value"]) is type(expected)


@pytest.mark.parametrize(
    ("exponent", "code"),
    [
        (None, "required-missing"),
        (2.5, "invalid-value"),
        (-3.0, "invalid-value"),
        ("-3", "invalid-value"),
        (True, "invalid-value"),
        (21, "invalid-value"),
        (-21, "invalid-value"),
    ],
)
def test_an_exponent_must_be_a_small_integer(exponent: Any, code: str) -> None:
    with pytest.raises(MappingError) as caught:
        _weight(SCALED, kg=7240, e=exponent)
    assert (caught.value.code, caught.value.location) == (code, "acme-scale.readings[0].exponent")


def test_without_a_value_the_exponent_is_not_needed() -> None:
    assert _weight(SCALED, e=None) == []


def test_components_take_an_exponent() -> None:
    panel = {
        "kind": "panel",
        "code": [{"system": "http://loinc.org", "code": "85354-9"}],
        "components": [
            {
                "code": [{"system": "http://loinc.org", "code": "8480-6"}],
                "value": "sys",
                "exponent": "e",
                "unit": {"code": "mm[Hg]"},
            }
        ],
    }
    (observation,) = _weight(with_change("readings", [panel]), sys=1205, e=-1)
    assert observation["component"][0]["valueQuantity"]["value"] == 120.5
    with pytest.raises(MappingError) as caught:
        _weight(with_change("readings", [panel]), sys=1205, e="x")
    assert caught.value.location == "acme-scale.readings[0].components[0].exponent"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "readings.0.exponent",
            "e[",
            "readings.0.quantity.exponent: Value error, invalid JMESPath",
        ),
        ("records", "r[", "records: Value error, invalid JMESPath expression 'r['"),
        ("timezone_from", "", "timezone_from: String should have at least 1 character"),
    ],
)
def test_invalid_extension_expressions_name_the_field(path: str, value: Any, expected: str) -> None:
    assert expected in problems_of(with_change(path, value))


ZONED = {**VALID, "timezone_from": "tz"}


@pytest.mark.parametrize(
    ("at", "tz", "effective"),
    [
        ("2024-03-22T07:00:00", "Europe/Paris", "2024-03-22T07:00:00+01:00"),  # read in the zone
        ("2024-03-22T07:00:00Z", "Europe/Paris", "2024-03-22T08:00:00+01:00"),  # written in it
        ("2024-07-22T07:00:00+02:00", "America/New_York", "2024-07-22T01:00:00-04:00"),
    ],
)
def test_timezone_from_reads_and_writes_instants_in_the_payloads_zone(
    at: str, tz: str, effective: str
) -> None:
    (weight,) = _weight(ZONED, kg=80, at=at, tz=tz)
    assert weight["effectiveDateTime"] == effective


def test_timezone_from_writes_epoch_instants_in_the_zone_with_the_same_identifier() -> None:
    epoch = {**ZONED, "timestamp_format": "epoch_s"}
    (local,) = _weight(epoch, kg=80, at=1711090800, tz="Asia/Tokyo")
    (utc,) = _weight({**epoch, "timezone_from": None}, kg=80, at=1711090800)
    assert (local["effectiveDateTime"], utc["effectiveDateTime"]) == (
        "2024-03-22T16:00:00+09:00",
        "2024-03-22T07:00:00+00:00",
    )
    assert local["identifier"] == utc["identifier"]  # the same instant


@pytest.mark.parametrize(
    ("tz", "code"),
    [(None, "required-missing"), ("Mars/Base", "invalid-value"), (7, "invalid-value")],
)
def test_timezone_from_needs_a_known_zone(tz: Any, code: str) -> None:
    with pytest.raises(MappingError) as caught:
        _weight(ZONED, kg=80, tz=tz)
    assert (caught.value.code, caught.value.location) == (code, "acme-scale.timezone_from")


RECORDS: dict[str, Any] = {
    **VALID,
    "records": "weighings",
    "reading_id": "record.n",
    "device": {"system": "urn:acme:serial", "id": "record.serial"},
    "patient": {"system": "urn:oid:1.2.3", "id": "payload.mrn"},
    "timestamp": "record.at",
    "readings": [{**VALID["readings"][0], "value": "record.kg"}],
}


def _records(weighings: Any) -> MappedMessage:
    mapper = TemplateMapper([parse_template(RECORDS)])
    payload = {"vendor": "acme", "mrn": "M1", "weighings": weighings}
    return assert_valid(mapper.map(json.dumps(payload).encode(), make_ctx("placeholder")))


def test_records_are_mapped_each_with_its_device_and_the_payloads_patient() -> None:
    at = "2024-03-22T07:00:00Z"
    mapped = _records(
        [
            {"serial": "S1", "at": at, "kg": 80, "n": 1},
            {"serial": "S2", "at": at, "kg": 81, "n": 2},
            {"serial": "S1", "at": "2024-03-23T07:00:00Z", "kg": 79, "n": 3},
        ]
    )
    devices = {e["fullUrl"]: e["resource"] for e in mapped.bundle_entries}
    kinds = [r["resourceType"] for r in mapped.resources]
    assert (kinds.count("Device"), kinds.count("Patient")) == (2, 1)
    weights = [r for r in mapped.resources if r["resourceType"] == "Observation"]
    assert [
        (devices[w["device"]["reference"]]["identifier"][0]["value"], w["valueQuantity"]["value"])
        for w in weights
    ] == [("S1", 80), ("S2", 81), ("S1", 79)]
    assert len({w["identifier"][0]["value"] for w in weights}) == 3


def test_a_single_record_object_is_one_record() -> None:
    mapped = _records({"serial": "S1", "at": "2024-03-22T07:00:00Z", "kg": 80})
    assert [r["resourceType"] for r in mapped.resources].count("Observation") == 1


@pytest.mark.parametrize(
    ("weighings", "location"),
    [
        ([], "acme-scale.records"),
        (None, "acme-scale.records"),
        (
            [{"serial": "S1", "at": "2024-03-22T07:00:00Z", "kg": 80}, {"at": "x"}],
            "records[1].acme-scale.device.id",
        ),
    ],
)
def test_record_problems_are_located_in_the_record(weighings: Any, location: str) -> None:
    with pytest.raises(MappingError) as caught:
        _records(weighings)
    assert (caught.value.code, caught.value.location) == ("required-missing", location)


def test_records_in_a_batch_are_located_in_its_element() -> None:
    mapper = TemplateMapper([parse_template(RECORDS)])
    good = {
        "vendor": "acme",
        "mrn": "M1",
        "weighings": [{"serial": "S1", "at": "2024-03-22T07:00:00Z", "kg": 1}],
    }
    bad = {"vendor": "acme", "mrn": "M1", "weighings": [{"serial": "S1", "at": "soon", "kg": 1}]}
    with pytest.raises(MappingError) as caught:
        mapper.map(json.dumps([good, bad]).encode(), make_ctx())
    assert caught.value.location == "[1].records[0].acme-scale.timestamp"
