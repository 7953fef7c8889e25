"""Pure helpers: date ranges, UCUM canonical units, escaping, normalisation, references."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fhir_server.search._dates import MAX_DATETIME, date_range
from fhir_server.search._references import ParsedReference, parse_reference
from fhir_server.search._text import normalize, split_escaped, unescape
from fhir_server.search._ucum import canonical_unit


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2024", utc(2024, 1, 1), utc(2025, 1, 1)),
        ("2024-02", utc(2024, 2, 1), utc(2024, 3, 1)),
        ("2024-12", utc(2024, 12, 1), utc(2025, 1, 1)),
        ("2024-02-29", utc(2024, 2, 29), utc(2024, 3, 1)),
        ("2024-03-05T10:00", utc(2024, 3, 5, 10, 0), utc(2024, 3, 5, 10, 1)),
        ("2024-03-05T10:00:07", utc(2024, 3, 5, 10, 0, 7), utc(2024, 3, 5, 10, 0, 8)),
        ("2024-03-05T10:00:07Z", utc(2024, 3, 5, 10, 0, 7), utc(2024, 3, 5, 10, 0, 8)),
        (
            "2024-03-05T10:00:07.25Z",
            utc(2024, 3, 5, 10, 0, 7, 250000),
            utc(2024, 3, 5, 10, 0, 7, 260000),
        ),
        ("2024-03-05T10:00:00+02:00", utc(2024, 3, 5, 8, 0), utc(2024, 3, 5, 8, 0, 1)),
        ("2024-03-05T23:30:00-01:00", utc(2024, 3, 6, 0, 30), utc(2024, 3, 6, 0, 30, 1)),
        ("9999", utc(9999, 1, 1), MAX_DATETIME),
    ],
)
def test_date_range_is_the_precision_of_the_value(text: str, low: datetime, high: datetime) -> None:
    assert date_range(text) == (low, high)


@pytest.mark.parametrize(
    "text",
    ["", "24", "2024-1", "2024-13", "2024-02-30", "2024-03-05T25:00", "yesterday", "2024/01"],
)
def test_date_range_rejects_what_is_not_a_date(text: str) -> None:
    assert date_range(text) is None


@pytest.mark.parametrize(
    ("code", "value", "canonical_code", "canonical_value"),
    [
        ("mg", "150", "g", "0.15"),
        ("kg", "70", "g", "70000"),
        ("ug", "5", "g", "0.000005"),
        ("ng", "5", "g", "0.000000005"),
        ("[lb_av]", "1", "g", "453.59237"),
        ("cm", "180", "m", "1.8"),
        ("mm", "3", "m", "0.003"),
        ("km", "2", "m", "2000"),
        ("[in_i]", "10", "m", "0.254"),
        ("[ft_i]", "6", "m", "1.8288"),
        ("L", "2", "m3", "0.002"),
        ("mL", "480", "m3", "0.00048"),
        ("dL", "1", "m3", "0.0001"),
        ("uL", "1", "m3", "0.000000001"),
        ("min", "30", "s", "1800"),
        ("h", "0.5", "s", "1800"),
        ("d", "1", "s", "86400"),
        ("ms", "250", "s", "0.25"),
        ("Cel", "37", "K", "310.15"),
        ("mm[Hg]", "120", "g.m-1.s-2", "15998640"),
        ("kPa", "16", "g.m-1.s-2", "16000000"),
        ("Pa", "1", "g.m-1.s-2", "1000"),
        ("mmol/L", "6.3", "m-3.mol", "6.3"),
        ("mol/L", "1", "m-3.mol", "1000"),
        ("umol/L", "80", "m-3.mol", "0.08"),
        ("%", "98", "1", "0.98"),
        ("1", "3", "1", "3"),
        ("/min", "60", "s-1", "1"),
        ("{beats}/min", "120", "s-1", "2"),
        ("g/dL", "14", "g.m-3", "140000"),
        ("mg/dL", "90", "g.m-3", "900"),
        ("kg/m2", "22", "g.m-2", "22000"),
        ("10*3/uL", "7", "m-3", "7000000000000"),
    ],
)
def test_ucum_canonical_form(
    code: str, value: str, canonical_code: str, canonical_value: str
) -> None:
    unit = canonical_unit(code)
    assert unit is not None
    assert unit.code == canonical_code
    assert unit.convert(Decimal(value)) == pytest.approx(Decimal(canonical_value))


def test_fahrenheit_is_affine() -> None:
    unit = canonical_unit("[degF]")
    assert unit is not None
    assert unit.code == "K"
    assert float(unit.convert(Decimal("98.6"))) == pytest.approx(310.15)
    assert float(unit.convert(Decimal("32"))) == pytest.approx(273.15)


@pytest.mark.parametrize("code", ["beats/minute", "Cel/h", "mmHg", "xyz", "m(2)", ""])
def test_units_outside_the_table_have_no_canonical_form(code: str) -> None:
    assert canonical_unit(code) is None


@pytest.mark.parametrize(
    ("value", "separator", "parts"),
    [
        ("a,b", ",", ["a", "b"]),
        (r"a\,b,c", ",", [r"a\,b", "c"]),
        (r"a\\,b", ",", [r"a\\", "b"]),
        ("sys|code", "|", ["sys", "code"]),
        (r"sys|co\|de", "|", ["sys", r"co\|de"]),
        (r"a$b\$c", "$", ["a", r"b\$c"]),
        ("", ",", [""]),
        ("trailing\\", ",", ["trailing\\"]),
    ],
)
def test_split_escaped_keeps_escaped_separators(
    value: str, separator: str, parts: list[str]
) -> None:
    assert split_escaped(value, separator) == parts


@pytest.mark.parametrize(
    ("part", "text"),
    [(r"a\,b", "a,b"), (r"a\$b", "a$b"), (r"a\|b", "a|b"), (r"a\\b", "a\\b"), (r"a\nb", r"a\nb")],
)
def test_unescape(part: str, text: str) -> None:
    assert unescape(part) == text


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Chalmers", "chalmers"),
        ("Bénédicte", "benedicte"),
        ("du Marché", "du marche"),
        ("ÅNGSTRÖM", "angstrom"),
    ],
)
def test_normalize_is_case_and_accent_insensitive(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Patient/123", ParsedReference("Patient", "123", "")),
        ("Patient/123/_history/4", ParsedReference("Patient", "123", "")),
        (
            "http://example.org/fhir/Patient/123/_history/4",
            ParsedReference("Patient", "123", "http://example.org/fhir/Patient/123"),
        ),
        (
            "http://example.org/fhir/Questionnaire/q|1.0",
            ParsedReference("Questionnaire", "q", "http://example.org/fhir/Questionnaire/q|1.0"),
        ),
        (
            "urn:uuid:0f4b6c1e-a5a6-4c3a-9e4b-1c2d3e4f5a6b",
            ParsedReference("", "", "urn:uuid:0f4b6c1e-a5a6-4c3a-9e4b-1c2d3e4f5a6b"),
        ),
        ("#contained", None),
        ("", None),
        ("just-an-id", None),
        ("a/b/Patient/1", None),
    ],
)
def test_parse_reference(text: str, parsed: ParsedReference | None) -> None:
    assert parse_reference(text) == parsed
