from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_server.ingest.spec import MappingError, SegmentLocation
from mappers.hl7v2 import datatypes
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Composite, parse
from mappers.hl7v2.timestamps import to_date, to_datetime

OPTIONS = Hl7v2Options()
HERE = SegmentLocation("OBX", 1, 14)


def composite(text: str) -> Composite:
    """One field value parsed with the standard delimiters."""
    message = parse(f"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5.1\rZZZ|{text}".encode())
    return message.require("ZZZ").first(1)


@pytest.mark.parametrize(
    ("hd", "expected"),
    [
        (("HOSP", "1.2.840.1", "ISO"), "urn:oid:1.2.840.1"),
        (
            ("", "0b5d5ea8-9b3e-4d7c-9a8e-1c2b3a4d5e6f", "UUID"),
            "urn:uuid:0b5d5ea8-9b3e-4d7c-9a8e-1c2b3a4d5e6f",
        ),
        (("", "https://hosp.example.org/mrn", "URI"), "https://hosp.example.org/mrn"),
        (("", "urn:oid:1.2.3", ""), "urn:oid:1.2.3"),
        (("HOSP", "not an oid", "ISO"), "urn:fhir-server:assigning-authority:HOSP"),
        (("GOOD HEALTH", "", ""), "urn:fhir-server:assigning-authority:GOOD%20HEALTH"),
        (("", "", ""), None),
    ],
)
def test_authority_system(hd: tuple[str, str, str], expected: str | None) -> None:
    assert datatypes.authority_system(*hd, OPTIONS) == expected


def test_configured_authority_wins_over_the_oid() -> None:
    options = Hl7v2Options(authority_systems={"HOSP": "https://hosp.example.org/mrn"})
    assert (
        datatypes.authority_system("HOSP", "1.2.3", "ISO", options)
        == "https://hosp.example.org/mrn"
    )


def test_identifier_from_cx() -> None:
    assert datatypes.identifier(composite("123^^^HOSP&1.2.3&ISO^MR"), OPTIONS, None) == {
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
        },
        "system": "urn:oid:1.2.3",
        "value": "123",
    }


def test_identifier_without_authority_takes_the_default_system() -> None:
    found = datatypes.identifier(composite("123"), OPTIONS, "urn:oid:9.9")
    assert found == {"system": "urn:oid:9.9", "value": "123"}
    assert datatypes.identifier(composite("^^^HOSP"), OPTIONS, None) is None


@pytest.mark.parametrize(
    ("cwe", "expected"),
    [
        (
            "2345-7^Glucose^LN",
            {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
        ),
        (
            "GLU^Glucose^99LAB^2345-7^Glucose SerPl^LN^^^Glucose, fasting",
            {
                "coding": [
                    {"code": "GLU", "display": "Glucose"},
                    {"system": "http://loinc.org", "code": "2345-7", "display": "Glucose SerPl"},
                ],
                "text": "Glucose, fasting",
            },
        ),
        (
            "H^High^HL70078",
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0078",
                        "code": "H",
                        "display": "High",
                    }
                ]
            },
        ),
        ("^Free text only", {"text": "Free text only"}),
        ("A  B ^spaced^L", {"coding": [{"code": "A B", "display": "spaced"}]}),
    ],
)
def test_codeable_concept(cwe: str, expected: dict[str, Any]) -> None:
    assert datatypes.codeable_concept(composite(cwe), OPTIONS) == expected


def test_codeable_concept_of_nothing_is_none() -> None:
    assert datatypes.codeable_concept(composite(""), OPTIONS) is None


def test_configured_coding_system() -> None:
    options = Hl7v2Options(coding_systems={"99LAB": "https://lab.example.org/codes"})
    concept = datatypes.codeable_concept(composite("GLU^Glucose^99LAB"), options)
    assert concept == {
        "coding": [{"system": "https://lab.example.org/codes", "code": "GLU", "display": "Glucose"}]
    }


def test_human_name() -> None:
    assert datatypes.human_name(composite("EVERYMAN&VAN^ADAM^A B^III^DR^PHD^L")) == {
        "use": "official",
        "family": "EVERYMAN",
        "given": ["ADAM", "A", "B"],
        "prefix": ["DR"],
        "suffix": ["III", "PHD"],
    }
    assert datatypes.human_name(composite("^^^^^^L")) is None


@pytest.mark.parametrize(
    ("kind", "use", "type_"), [("H", "home", None), ("BA", "old", None), ("M", None, "postal")]
)
def test_address_use_and_type(kind: str, use: str | None, type_: str | None) -> None:
    address = datatypes.address(composite(f"1 MAIN ST^APT 2^TOWN^ST^12345^USA^{kind}^^COUNTY"))
    assert address is not None
    assert (address.get("use"), address.get("type")) == (use, type_)
    assert address["line"] == ["1 MAIN ST", "APT 2"]
    assert address["district"] == "COUNTY"


def test_empty_address_is_none() -> None:
    assert datatypes.address(composite("^^^^^^H")) is None


@pytest.mark.parametrize(
    ("xtn", "default", "expected"),
    [
        (
            "^PRN^PH^^1^734^5552004",
            "home",
            {"system": "phone", "value": "+1 734 5552004", "use": "home"},
        ),
        (
            "^WPN^PH^^^734^5553001^22",
            "home",
            {"system": "phone", "value": "734 5553001 ext. 22", "use": "work"},
        ),
        (
            "^PRN^CP^^^^^^^^^+15551234",
            "home",
            {"system": "phone", "value": "+15551234", "use": "mobile"},
        ),
        (
            "^NET^Internet^a@example.org",
            "home",
            {"system": "email", "value": "a@example.org", "use": "home"},
        ),
        ("^^^a@example.org", "work", {"system": "email", "value": "a@example.org", "use": "work"}),
        (
            "(818)555-1212^PRN^PH",
            "home",
            {"system": "phone", "value": "(818)555-1212", "use": "home"},
        ),
        ("^BPN^^^^^5550000", "work", {"system": "pager", "value": "5550000", "use": "work"}),
        ("^PRN^FX^^^^5559999", "home", {"system": "fax", "value": "5559999", "use": "home"}),
    ],
)
def test_contact_point(xtn: str, default: str, expected: dict[str, str]) -> None:
    assert datatypes.contact_point(composite(xtn), default) == expected


def test_empty_contact_point_is_none() -> None:
    assert datatypes.contact_point(composite("^PRN^PH"), "home") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1961", "1961"),
        ("196106", "1961-06"),
        ("19610615", "1961-06-15"),
        ("196106151230", "1961-06-15"),
    ],
)
def test_to_date_keeps_precision(value: str, expected: str) -> None:
    assert to_date(value, HERE) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240315", "2024-03-15"),
        ("2024031510", "2024-03-15T10:00:00+01:00"),
        ("202403151030", "2024-03-15T10:30:00+01:00"),
        ("20240715103045", "2024-07-15T10:30:45+02:00"),
        ("20240315103045.25", "2024-03-15T10:30:45.25+01:00"),
        ("20240315103045-0500", "2024-03-15T10:30:45-05:00"),
        ("20240315103045+0000", "2024-03-15T10:30:45+00:00"),
        ("20240315103045+1400", "2024-03-15T10:30:45+14:00"),
    ],
)
def test_to_datetime_adds_an_offset_only_with_a_time(value: str, expected: str) -> None:
    assert to_datetime(value, HERE, ZoneInfo("Europe/Paris")) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-15",
        "20241301",
        "20240230",
        "2024031525",
        "soon",
        "20240315103045+2400",
        "20240315103045-1430",
        "20240315103045+0575",
    ],
)
def test_invalid_timestamps_are_reported_where_they_are(value: str) -> None:
    with pytest.raises(MappingError) as caught:
        to_datetime(value, HERE, ZoneInfo("UTC"))
    assert caught.value.code == "invalid-value"
    assert caught.value.location == HERE


def test_unknown_default_timezone_fails_at_configuration() -> None:
    with pytest.raises(ValueError, match="Mars"):
        Hl7v2Options(default_timezone="Mars/Olympus_Mons")
