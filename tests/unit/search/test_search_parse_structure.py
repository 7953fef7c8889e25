"""Parsing the shape of a search: AND/OR, chains, _has, result parameters, strictness."""

from __future__ import annotations

import pytest
from search_support import parse, term, where

from fhir_server.errors import InvalidRequest, UnsupportedParameter
from fhir_server.search.ir import (
    AnyOf,
    Chain,
    Has,
    Include,
    SortKey,
    StringMatch,
    TokenMatch,
)


def test_repetition_is_and_comma_is_or() -> None:
    assert where("code=a,b&code=c") == (
        AnyOf((TokenMatch("code", None, "a"), TokenMatch("code", None, "b"))),
        TokenMatch("code", None, "c"),
    )


def test_chain_with_type_modifier() -> None:
    assert term("subject:Patient.name=peter") == Chain(
        "subject", "Patient", StringMatch("name", "peter")
    )


def test_chain_without_type_covers_every_target_that_has_the_parameter() -> None:
    found = term("subject.name=peter")
    assert isinstance(found, AnyOf)
    assert {c.target_type for c in found.terms if isinstance(c, Chain)} == {"Patient", "Location"}
    assert term("subject.birthdate=1974") == Chain(
        "subject", "Patient", term("birthdate=1974", "Patient")
    )


def test_chain_over_a_single_target() -> None:
    assert term("specimen.type=blood") == Chain(
        "specimen", "Specimen", TokenMatch("type", None, "blood")
    )
    assert term("encounter.status=finished") == AnyOf(
        (
            Chain("encounter", "Encounter", TokenMatch("status", None, "finished")),
            Chain("encounter", "EpisodeOfCare", TokenMatch("status", None, "finished")),
        )
    )


def test_multi_level_chain() -> None:
    assert term("subject:Patient.organization.name=acme") == Chain(
        "subject", "Patient", Chain("organization", "Organization", StringMatch("name", "acme"))
    )


def test_chain_with_modifier_at_the_end() -> None:
    assert term("subject:Patient.identifier=urn:oid:1|42") == Chain(
        "subject", "Patient", TokenMatch("identifier", "urn:oid:1", "42")
    )


@pytest.mark.parametrize(
    "query", ["code.text=x", "subject:Patient.nonsense=1", "subject.nonsense=1"]
)
def test_unchainable(query: str) -> None:
    with pytest.raises(UnsupportedParameter):
        parse(query)


def test_reverse_chain() -> None:
    assert term("_has:Observation:patient:code=8867-4", "Patient") == Has(
        "Observation", "patient", TokenMatch("code", None, "8867-4")
    )


def test_nested_reverse_chain() -> None:
    assert term("_has:Observation:patient:_has:AuditEvent:entity:agent=u1", "Patient") == Has(
        "Observation",
        "patient",
        Has("AuditEvent", "entity", term("agent=u1", "AuditEvent")),
    )


@pytest.mark.parametrize(
    "query",
    ["_has:Observation:patient=1", "_has:Nonsense:patient:code=1", "_has:Observation:code:code=1"],
)
def test_malformed_reverse_chain(query: str) -> None:
    with pytest.raises(InvalidRequest):
        parse(query, "Patient")


def test_result_parameters() -> None:
    query, issues = parse(
        "_count=1000&_offset=40&_sort=-date,_id&_total=none&_summary=count"
        "&_elements=code,subject&_format=json&_pretty=true"
    )
    assert issues == []
    assert query.count == 100  # clamped to max_count
    assert query.offset == 40
    assert query.sort == (SortKey("date", True, "date"), SortKey("_id", False, "token"))
    assert query.total == "none"
    assert query.summary == "count"
    assert query.elements == ("code", "subject")
    assert query.where.terms == ()


def test_defaults() -> None:
    query, _ = parse("")
    assert (query.count, query.offset, query.sort, query.total) == (20, 0, (), "accurate")
    assert query.resource_types == ("Observation",)


@pytest.mark.parametrize(
    ("query", "include"),
    [
        ("_include=Observation:subject", Include("Observation", "subject")),
        ("_include=Observation:subject:Patient", Include("Observation", "subject", "Patient")),
        (
            "_include:iterate=Patient:general-practitioner",
            Include("Patient", "general-practitioner", None, True),
        ),
        (
            "_include:recurse=Observation:has-member",
            Include("Observation", "has-member", None, True),
        ),
        ("_include=*", Include("*", "*")),
        ("_include=Observation:*", Include("Observation", "*")),
        ("_revinclude=Provenance:target", Include("Provenance", "target", None, False, True)),
        (
            "_revinclude:iterate=Observation:has-member",
            Include("Observation", "has-member", None, True, True),
        ),
    ],
)
def test_includes(query: str, include: Include) -> None:
    assert parse(query)[0].includes == (include,)


@pytest.mark.parametrize(
    "query",
    [
        "_count=-1",
        "_count=ten",
        "_offset=x",
        "_total=maybe",
        "_summary=short",
        "_include=Observation",
        "_include=Nonsense:subject",
        "_include=Observation:code",
        "_include=Observation:subject:Nonsense",
        "_include:deep=Observation:subject",
    ],
)
def test_malformed_result_parameters(query: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        parse(query)
    assert not isinstance(error.value, UnsupportedParameter)


@pytest.mark.parametrize(
    "query",
    [
        "nonsense=1",
        "_sort=nonsense",
        "_sort=combo-code-value-quantity",
        "_include=Observation:nonsense",
        "_content=x",
        "_text=x",
        "_list=42",
        "_filter=name eq x",
        "_count:exact=1",
    ],
)
def test_unknown_parameters_strict_raise_lenient_warn(query: str) -> None:
    with pytest.raises(UnsupportedParameter):
        parse(query)
    lenient, issues = parse(query, strict=False)
    assert lenient.where.terms == ()
    assert lenient.sort == ()
    assert len(issues) == 1
    assert issues[0].severity == "warning"
    assert issues[0].code == "not-supported"


def test_special_parameter_is_unsupported() -> None:
    with pytest.raises(UnsupportedParameter):
        parse("near=42|-83|10|km", "Location")


def test_lenient_keeps_the_known_parameters() -> None:
    query, issues = parse("code=1&nonsense=2&status=final", strict=False)
    assert query.where.terms == (TokenMatch("code", None, "1"), TokenMatch("status", None, "final"))
    assert issues[0].expression == ("nonsense",)


def test_malformed_value_raises_even_when_lenient() -> None:
    with pytest.raises(InvalidRequest):
        parse("date=not-a-date", strict=False)


def test_system_search_with_type() -> None:
    query, _ = parse("_type=Patient,Device&_id=a", None)
    assert query.resource_types == ("Patient", "Device")
    assert query.where.terms == (TokenMatch("_id", None, "a"),)


def test_system_search_without_type_covers_every_type_and_common_parameters() -> None:
    query, _ = parse("_lastUpdated=gt2024", None)
    assert "Observation" in query.resource_types
    assert len(query.resource_types) > 140
    with pytest.raises(UnsupportedParameter):
        parse("code=1", None)


def test_system_search_parameter_must_exist_on_every_type() -> None:
    with pytest.raises(UnsupportedParameter):
        parse("_type=Patient,Device&name=x", None)
    query, _ = parse("_type=Patient,Practitioner&name=x", None)
    assert query.where.terms == (StringMatch("name", "x"),)


def test_unknown_type_in_type_parameter() -> None:
    with pytest.raises(InvalidRequest):
        parse("_type=Nonsense", None)


def test_type_parameter_on_type_level_search_is_unsupported() -> None:
    with pytest.raises(UnsupportedParameter):
        parse("_type=Patient")
