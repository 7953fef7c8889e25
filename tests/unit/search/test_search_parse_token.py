"""Parsing token values: system|code forms, modifiers, escaping."""

from __future__ import annotations

import pytest
from search_support import parse, term

from fhir_server.errors import InvalidRequest, UnsupportedParameter
from fhir_server.search.ir import AnyOf, Missing, Not, Term, TokenMatch, TokenText

LOINC = "http://loinc.org"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("code=8867-4", TokenMatch("code", None, "8867-4")),
        (f"code={LOINC}|8867-4", TokenMatch("code", LOINC, "8867-4")),
        ("code=|8867-4", TokenMatch("code", "", "8867-4")),
        (f"code={LOINC}|", TokenMatch("code", LOINC, None)),
        (
            f"code={LOINC}|8867-4,{LOINC}|8480-6",
            AnyOf((TokenMatch("code", LOINC, "8867-4"), TokenMatch("code", LOINC, "8480-6"))),
        ),
        ("code:not=8867-4", Not(TokenMatch("code", None, "8867-4"))),
        (
            "code:not=a,b",
            Not(AnyOf((TokenMatch("code", None, "a"), TokenMatch("code", None, "b")))),
        ),
        ("code:text=Héart Rate", TokenText("code", "heart rate")),
        ("code:missing=true", Missing("code", True)),
        ("code:missing=false", Missing("code", False)),
        ("status=final", TokenMatch("status", None, "final")),
        ("_id=heart-rate", TokenMatch("_id", None, "heart-rate")),
        ("_tag=http://example.org/tags|icu", TokenMatch("_tag", "http://example.org/tags", "icu")),
        ("_security=N", TokenMatch("_security", None, "N")),
        (
            "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345",
            TokenMatch(
                "identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203", "MR|12345"
            ),
        ),
    ],
)
def test_token_values(query: str, expected: Term) -> None:
    assert term(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (r"code=a\,b", TokenMatch("code", None, "a,b")),
        (r"code=sys|a\|b", TokenMatch("code", "sys", "a|b")),
        (r"code=a\\", TokenMatch("code", None, "a\\")),
        (r"code=a\$b", TokenMatch("code", None, "a$b")),
        (r"code=a\\,b", AnyOf((TokenMatch("code", None, "a\\"), TokenMatch("code", None, "b")))),
    ],
)
def test_token_escaping(query: str, expected: Term) -> None:
    assert term(query.replace("\\", "%5C")) == expected


@pytest.mark.parametrize(
    "query",
    [
        "code=|",
        "code=a|b|c",
        "identifier:of-type=sys|MR",
        "identifier:of-type=|MR|1",
        "code:missing=maybe",
    ],
)
def test_malformed_token_values_are_rejected(query: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        parse(query, "Patient" if query.startswith("identifier") else "Observation")
    assert not isinstance(error.value, UnsupportedParameter)


@pytest.mark.parametrize("modifier", ["in", "not-in", "above", "below", "exact", "bogus"])
def test_unsupported_token_modifiers(modifier: str) -> None:
    with pytest.raises(UnsupportedParameter):
        parse(f"code:{modifier}=x")
    query, issues = parse(f"code:{modifier}=x", strict=False)
    assert query.where.terms == ()
    assert [i.severity for i in issues] == ["warning"]


def test_empty_values_are_ignored() -> None:
    query, issues = parse("code=&code=,&_count=&_sort=")
    assert query.where.terms == ()
    assert (query.count, query.sort) == (20, ())
    assert issues == []
