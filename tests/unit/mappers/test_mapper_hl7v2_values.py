from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from fhir_server.ingest.spec import MappingError
from mappers.hl7v2.observation import interpretation, reference_range
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Segment, parse
from mappers.hl7v2.units import UCUM, quantity_unit
from mappers.hl7v2.values import number, observation_value

MG_DL = {"unit": "mg/dL", "system": UCUM, "code": "mg/dL"}


def obx(fields: str) -> Segment:
    message = parse(f"MSH|^~\\&|A|B|||20240101||ORU^R01|1|P|2.5.1\rOBX|{fields}".encode())
    return message.require("OBX")


def value_of(fields: str, unit: dict[str, Any] | None = None) -> dict[str, Any]:
    value, _ = observation_value(obx(fields), unit or {}, UTC, Hl7v2Options())
    return value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("182", 182), ("+1.5", 1.5), (".5", 0.5), ("-2", -2), ("7.", 7.0), (" 42 ", 42)],
)
def test_number(text: str, expected: float) -> None:
    assert number(text, obx("1").location(5)) == expected


@pytest.mark.parametrize("text", ["1,5", "abc", "1e3", "", "--1"])
def test_not_a_number(text: str) -> None:
    with pytest.raises(MappingError) as caught:
        number(text, obx("1").location(5))
    assert caught.value.code == "invalid-value"


def test_numeric_value_is_a_quantity_with_the_unit() -> None:
    assert value_of("1|NM|X^Y^L||182", MG_DL) == {"valueQuantity": {"value": 182, **MG_DL}}


@pytest.mark.parametrize(
    ("sn", "expected"),
    [
        ("<^0.5", {"valueQuantity": {"value": 0.5, **MG_DL, "comparator": "<"}}),
        (">=^60", {"valueQuantity": {"value": 60, **MG_DL, "comparator": ">="}}),
        ("=^7", {"valueQuantity": {"value": 7, **MG_DL}}),
        ("^7", {"valueQuantity": {"value": 7, **MG_DL}}),
        (
            "^10^-^20",
            {"valueRange": {"low": {"value": 10, **MG_DL}, "high": {"value": 20, **MG_DL}}},
        ),
        ("^1^:^128", {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 128}}}),
        ("^1^/^3", {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 3}}}),
        ("^2^+", {"valueString": "2+"}),
        ("<>^5", {"valueString": "<>5"}),
    ],
)
def test_structured_numeric(sn: str, expected: dict[str, Any]) -> None:
    assert value_of(f"1|SN|X^Y^L||{sn}", MG_DL) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("1|ST|X^Y^L||plain text", {"valueString": "plain text"}),
        ("1|TX|X^Y^L||line one~line two", {"valueString": "line one\nline two"}),
        ("1|FT|X^Y^L||first\\.br\\second", {"valueString": "first\nsecond"}),
        ("1|ST|X^Y^L||unescaped^caret", {"valueString": "unescaped^caret"}),
        ("1|TS|X^Y^L||20240101123000", {"valueDateTime": "2024-01-01T12:30:00+00:00"}),
        ("1|DT|X^Y^L||20240101", {"valueDateTime": "2024-01-01"}),
        ("1|TM|X^Y^L||0930", {"valueTime": "09:30:00"}),
        (
            "1|CWE|X^Y^L||260385009^Negative^SCT",
            {
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "260385009",
                            "display": "Negative",
                        }
                    ]
                }
            },
        ),
        ("1|NM|X^Y^L||", {}),
    ],
)
def test_value_types(fields: str, expected: dict[str, Any]) -> None:
    assert value_of(fields) == expected


def test_extra_repetitions_of_a_coded_value_are_returned() -> None:
    _, extra = observation_value(obx("1|CWE|X^Y^L||A^a^L~B^b^L"), {}, UTC, Hl7v2Options())
    assert [r.get(1) for r in extra] == ["B"]


@pytest.mark.parametrize(
    ("fields", "where"), [("1|ZZ|X^Y^L||data", "OBX-2"), ("1||X^Y^L||5", "OBX-2")]
)
def test_unsupported_value_type(fields: str, where: str) -> None:
    with pytest.raises(MappingError) as caught:
        value_of(fields)
    assert caught.value.code == "unknown-code"
    assert str(caught.value.location) == where


@pytest.mark.parametrize(
    ("fields", "where"), [("1|NM|X^Y^L||high", "OBX-5"), ("1|TM|X^Y^L||2561", "OBX-5")]
)
def test_values_that_do_not_fit_their_type(fields: str, where: str) -> None:
    with pytest.raises(MappingError) as caught:
        value_of(fields)
    assert caught.value.code == "invalid-value"
    assert str(caught.value.location) == where


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ("mg/dL^^UCUM", {"unit": "mg/dL", "system": UCUM, "code": "mg/dL"}),
        ("mmHg", {"unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
        (
            "K/uL^thousand per microliter",
            {"unit": "thousand per microliter", "system": UCUM, "code": "10*3/uL"},
        ),
        ("bananas", {"unit": "bananas"}),
        ("266016^MDC_DIM_MMHG^MDC", {"unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
        ("264864^^MDC", {"unit": "beats/minute", "system": UCUM, "code": "/min"}),
        ("999999^MDC_DIM_UNKNOWN^MDC", {"unit": "MDC_DIM_UNKNOWN"}),
        ("", {}),
    ],
)
def test_units(units: str, expected: dict[str, str]) -> None:
    assert quantity_unit(obx(f"1|NM|X^Y^L||1|{units}").first(6)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("70-99", {"text": "70-99", "low": {"value": 70, **MG_DL}, "high": {"value": 99, **MG_DL}}),
        (
            "3.5 - 5.0",
            {"text": "3.5 - 5.0", "low": {"value": 3.5, **MG_DL}, "high": {"value": 5.0, **MG_DL}},
        ),
        ("-5-5", {"text": "-5-5", "low": {"value": -5, **MG_DL}, "high": {"value": 5, **MG_DL}}),
        ("<200", {"text": "<200", "high": {"value": 200, **MG_DL}}),
        (">=40", {"text": ">=40", "low": {"value": 40, **MG_DL}}),
        ("negative", {"text": "negative"}),
        ("", None),
    ],
)
def test_reference_range(text: str, expected: dict[str, Any] | None) -> None:
    assert reference_range(text, MG_DL) == expected


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (
            "H",
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "H",
                    }
                ]
            },
        ),
        (
            "<",
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "<",
                    }
                ]
            },
        ),
        (
            "AC",
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0078", "code": "AC"}]},
        ),
        ("DEMO", {"text": "DEMO"}),
    ],
)
def test_interpretation(flag: str, expected: dict[str, Any]) -> None:
    assert interpretation(flag) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("1|XPN|X^Y^L||EVERYMAN^ADAM^A", {"valueString": "EVERYMAN ADAM A"}),
        ("1|XAD|X^Y^L||1 MAIN ST^^ANN ARBOR^MI", {"valueString": "1 MAIN ST ANN ARBOR MI"}),
        ("1|XTN|X^Y^L||^PRN^PH^^1^734^5552004", {"valueString": "PRN PH 1 734 5552004"}),
        ("1|CX|X^Y^L||123^^^HOSP&1.2.3&ISO", {"valueString": "123 HOSP 1.2.3 ISO"}),
        ("1|XCN|X^Y^L||1234^SMITH^JO~5678^DOE", {"valueString": "1234 SMITH JO\n5678 DOE"}),
        ("1|ID|X^Y^L||Y", {"valueCodeableConcept": {"coding": [{"code": "Y"}]}}),
        ("1|IS|X^Y^L||A^ignored", {"valueCodeableConcept": {"coding": [{"code": "A"}]}}),
    ],
)
def test_table_0125_types_without_a_fhir_value_type_are_kept(
    fields: str, expected: dict[str, Any]
) -> None:
    assert value_of(fields) == expected
