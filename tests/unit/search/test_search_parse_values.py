"""Parsing ordered values (date, number, quantity), strings, uris, references, composites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from search_support import NOW, parse, term

from fhir_server.errors import InvalidRequest
from fhir_server.search.ir import (
    Cmp,
    Composite,
    DateMatch,
    NumberMatch,
    QuantityMatch,
    RefMatch,
    StringMatch,
    Term,
    TokenMatch,
    UriMatch,
)

UCUM = "http://unitsofmeasure.org"
Y2024 = datetime(2024, 1, 1, tzinfo=UTC)
Y2025 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("prefix", "cmp"),
    [
        ("", Cmp.EQ),
        ("eq", Cmp.EQ),
        ("gt", Cmp.GT),
        ("lt", Cmp.LT),
        ("ge", Cmp.GE),
        ("le", Cmp.LE),
        ("sa", Cmp.SA),
        ("eb", Cmp.EB),
    ],
)
def test_date_prefixes(prefix: str, cmp: Cmp) -> None:
    assert term(f"date={prefix}2024") == DateMatch("date", cmp, Y2024, Y2025)


def test_date_ne_stays_a_leaf_so_absent_values_do_not_match() -> None:
    assert term("date=ne2024") == DateMatch("date", Cmp.NE, Y2024, Y2025)


def test_date_ap_widens_by_a_tenth_of_the_gap_to_now() -> None:
    margin = (NOW - Y2024) * 0.1
    assert term("date=ap2024") == DateMatch("date", Cmp.AP, Y2024 - margin, Y2025 + margin)


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)),
        (
            "2024-03-05T10:00",
            datetime(2024, 3, 5, 10, tzinfo=UTC),
            datetime(2024, 3, 5, 10, 1, tzinfo=UTC),
        ),
        (
            "2024-03-05T10:00:00%2B02:00",
            datetime(2024, 3, 5, 8, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 0, 1, tzinfo=UTC),
        ),
        (  # a '+' the client forgot to encode arrives as a space
            "2024-03-05T10:00:00+02:00",
            datetime(2024, 3, 5, 8, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 0, 1, tzinfo=UTC),
        ),
    ],
)
def test_date_precision(value: str, low: datetime, high: datetime) -> None:
    assert term(f"date={value}") == DateMatch("date", Cmp.EQ, low, high)


def test_last_updated_is_a_date() -> None:
    low = datetime(2024, 5, 1, tzinfo=UTC)
    assert term("_lastUpdated=gt2024-05-01") == DateMatch(
        "_lastUpdated", Cmp.GT, low, low + timedelta(days=1)
    )


@pytest.mark.parametrize(
    "query",
    [
        "date=2024-13",
        "date=yesterday",
        "date=xx2024",
        "date=gt",
        "date=2024-02-30",
        "probability=abc",
        "probability=1_000",
        "probability=NaN",
        "probability=zz5",
        "value-quantity=5|mg",
        "value-quantity=gt|http://unitsofmeasure.org|mg",
        "value-quantity=1|2|3|4",
    ],
)
def test_malformed_ordered_values_are_rejected(query: str) -> None:
    resource_type = "RiskAssessment" if query.startswith("probability") else "Observation"
    with pytest.raises(InvalidRequest) as error:
        parse(query, resource_type)
    assert error.value.expression == (query.split("=")[0],)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "0.02",
            NumberMatch("probability", Cmp.EQ, Decimal("0.02"), Decimal("0.015"), Decimal("0.025")),
        ),
        (
            "100",
            NumberMatch("probability", Cmp.EQ, Decimal("100"), Decimal("99.5"), Decimal("100.5")),
        ),
        (
            "gt0.5",
            NumberMatch("probability", Cmp.GT, Decimal("0.5"), Decimal("0.45"), Decimal("0.55")),
        ),
        (
            "ap100",
            NumberMatch("probability", Cmp.AP, Decimal("100"), Decimal("90.0"), Decimal("110.0")),
        ),
        ("1e2", NumberMatch("probability", Cmp.EQ, Decimal("1e2"), Decimal("50"), Decimal("150"))),
        (
            "ne1",
            NumberMatch("probability", Cmp.NE, Decimal("1"), Decimal("0.5"), Decimal("1.5")),
        ),
    ],
)
def test_numbers(value: str, expected: Term) -> None:
    assert term(f"probability={value}", "RiskAssessment") == expected


def test_quantity_without_unit() -> None:
    assert term("value-quantity=le5.4") == QuantityMatch(
        "value-quantity", Cmp.LE, Decimal("5.4"), Decimal("5.35"), Decimal("5.45"), None, None
    )


def test_quantity_with_code_only() -> None:
    assert term("value-quantity=5.4||mg") == QuantityMatch(
        "value-quantity", Cmp.EQ, Decimal("5.4"), Decimal("5.35"), Decimal("5.45"), None, "mg"
    )


def test_ucum_quantity_is_expressed_in_canonical_units() -> None:
    assert term(f"value-quantity=gt0.1|{UCUM}|g") == QuantityMatch(
        "value-quantity", Cmp.GT, Decimal("0.1"), Decimal("0.05"), Decimal("0.15"), UCUM, "g"
    )
    found = term(f"value-quantity=150|{UCUM}|mg")
    assert isinstance(found, QuantityMatch)
    assert (found.value, found.low, found.high, found.code) == (
        Decimal("0.150"),
        Decimal("0.1495"),
        Decimal("0.1505"),
        "g",
    )


def test_non_ucum_quantity_keeps_its_unit() -> None:
    assert term("value-quantity=5|http://example.org/units|pill") == QuantityMatch(
        "value-quantity",
        Cmp.EQ,
        Decimal(5),
        Decimal("4.5"),
        Decimal("5.5"),
        "http://example.org/units",
        "pill",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=Chalm", StringMatch("name", "chalm", "starts")),
        ("name=Bénédicte", StringMatch("name", "benedicte", "starts")),
        ("name:exact=Chalmers", StringMatch("name", "Chalmers", "exact")),
        ("name:contains=ALM", StringMatch("name", "alm", "contains")),
        (r"name=a%5C,b", StringMatch("name", "a,b", "starts")),
    ],
)
def test_strings(query: str, expected: Term) -> None:
    assert term(query, "Patient") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("url=http://acme.org/devices/1", UriMatch("url", "http://acme.org/devices/1", "exact")),
        ("url:below=http://acme.org/devices", UriMatch("url", "http://acme.org/devices", "below")),
        (
            "url:above=http://acme.org/devices/1/x",
            UriMatch("url", "http://acme.org/devices/1/x", "above"),
        ),
    ],
)
def test_uris(query: str, expected: Term) -> None:
    assert term(query, "Device") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("subject=Patient/123", RefMatch("subject", "Patient", "123")),
        ("subject=Patient/123/_history/2", RefMatch("subject", "Patient", "123")),
        ("subject=123", RefMatch("subject", None, "123")),
        ("subject:Patient=123", RefMatch("subject", "Patient", "123")),
        ("subject:Patient=Patient/123", RefMatch("subject", "Patient", "123")),
        (
            "subject=http://other.org/fhir/Patient/123",
            RefMatch("subject", None, None, "http://other.org/fhir/Patient/123"),
        ),
        ("subject=http://this.org/fhir/Patient/123", RefMatch("subject", "Patient", "123")),
        (
            "subject:identifier=urn:oid:1.2|42",
            TokenMatch("subject:identifier", "urn:oid:1.2", "42"),
        ),
        ("subject:identifier=42", TokenMatch("subject:identifier", None, "42")),
    ],
)
def test_references(query: str, expected: Term) -> None:
    assert term_with_base(query) == expected


def term_with_base(query: str) -> Term:
    (only,) = parse(query, base_url="http://this.org/fhir")[0].where.terms
    return only


@pytest.mark.parametrize(
    "query",
    ["subject=Nonsense/1", "subject:Patient=Device/1", "subject=a b", "subject:Medication=1"],
)
def test_malformed_references_are_rejected(query: str) -> None:
    with pytest.raises(InvalidRequest):
        parse(query)


def test_composite_values_split_on_dollar() -> None:
    assert term(f"component-code-value-quantity=http://loinc.org|8480-6$gt140|{UCUM}|mm[Hg]") == (
        Composite(
            "component-code-value-quantity",
            (
                TokenMatch("component-code", "http://loinc.org", "8480-6"),
                QuantityMatch(
                    "component-value-quantity",
                    Cmp.GT,
                    Decimal("18665080"),
                    Decimal("18598419"),
                    Decimal("18731741"),
                    UCUM,
                    "g.m-1.s-2",
                ),
            ),
        )
    )


def test_composite_ne_applies_to_the_same_element() -> None:
    found = term("component-code-value-quantity=8480-6$ne60")
    assert isinstance(found, Composite)
    assert isinstance(found.components[1], QuantityMatch)
    assert found.components[1].cmp is Cmp.NE


def test_a_composite_on_the_resource_is_each_of_its_components() -> None:
    code, value = parse("code-value-quantity=8867-4$ne60")[0].where.terms
    assert code == TokenMatch("code", None, "8867-4")
    assert isinstance(value, QuantityMatch)
    assert (value.param, value.cmp) == ("value-quantity", Cmp.NE)


def test_escaped_dollar_in_a_composite_token() -> None:
    found = term(r"code-value-string=a%5C$b$text")
    assert found == Composite(
        "code-value-string", (TokenMatch("code", None, "a$b"), StringMatch("value-string", "text"))
    )


@pytest.mark.parametrize("query", ["code-value-quantity=8867-4", "code-value-quantity=a$1$2"])
def test_composite_needs_one_value_per_component(query: str) -> None:
    with pytest.raises(InvalidRequest):
        parse(query)
