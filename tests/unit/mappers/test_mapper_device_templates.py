from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mapper_fixtures import assert_valid, make_ctx

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
    assert names == ["glucostream-cgm", "omnicuff-bp", "pulsewave-wrist"]


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
