"""Parameters searched through the parameters whose elements they repeat, and not indexed."""

from __future__ import annotations

import pytest
from search_support import parse

from conformance.definitions import resource_types
from fhir_server.errors import UnsupportedParameter
from fhir_server.search.derived import derivation, derived_codes
from fhir_server.search.extract import extract
from fhir_server.search.ir import AllOf, AnyOf, Missing, Not, TokenMatch
from fhir_server.search.registry import default_registry

BP = {
    "resourceType": "Observation",
    "id": "bp",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "component": [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {
                "value": 120,
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }
    ],
}


def test_r4_derivations_are_found_from_the_definitions() -> None:
    registry = default_registry()
    found = {
        (t, code): (d.mode, tuple(p.code for p in d.params))
        for t in resource_types()
        for code, param in registry.for_type(t).items()
        if (d := derivation(registry, param)) is not None
    }
    assert found == {
        ("Observation", "combo-code"): ("any", ("code", "component-code")),
        ("Observation", "combo-value-quantity"): (
            "any",
            ("component-value-quantity", "value-quantity"),
        ),
        ("Observation", "combo-value-concept"): (
            "any",
            ("component-value-concept", "value-concept"),
        ),
        ("Observation", "combo-data-absent-reason"): (
            "any",
            ("component-data-absent-reason", "data-absent-reason"),
        ),
        ("Observation", "code-value-quantity"): ("all", ("code", "value-quantity")),
        ("Observation", "code-value-concept"): ("all", ("code", "value-concept")),
        ("Observation", "code-value-date"): ("all", ("code", "value-date")),
        ("Observation", "combo-code-value-quantity"): (
            "any",
            ("code-value-quantity", "component-code-value-quantity"),
        ),
        ("Observation", "combo-code-value-concept"): (
            "any",
            ("code-value-concept", "component-code-value-concept"),
        ),
    }


def test_code_value_string_is_indexed_because_value_string_also_reads_concept_text() -> None:
    registry = default_registry()
    param = registry.get("Observation", "code-value-string")
    assert param is not None
    assert derivation(registry, param) is None


def test_derived_parameters_are_not_extracted() -> None:
    params = {e.param for e in extract(BP, default_registry())}
    assert {"code", "component-code", "component-code-value-quantity"} <= params
    assert not params & derived_codes(default_registry(), "Observation")


def test_a_disabled_part_makes_the_union_indexed_again() -> None:
    registry = default_registry(frozenset({"Observation.component-code"}))
    combo = registry.get("Observation", "combo-code")
    assert combo is not None
    assert derivation(registry, combo) is None
    params = {e.param for e in extract(BP, registry)}
    assert "combo-code" in params
    assert "component-code" not in params


def test_a_union_is_any_of_its_parameters_and_not_negates_the_whole() -> None:
    (found,) = parse("combo-code:not=8480-6")[0].where.terms
    assert found == Not(
        AnyOf((TokenMatch("code", None, "8480-6"), TokenMatch("component-code", None, "8480-6")))
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "combo-code:missing=true",
            AllOf((Missing("code", True), Missing("component-code", True))),
        ),
        (
            "combo-code:missing=false",
            AnyOf((Missing("code", False), Missing("component-code", False))),
        ),
        (
            "code-value-quantity:missing=true",
            AnyOf((Missing("code", True), Missing("value-quantity", True))),
        ),
        (
            "code-value-quantity:missing=false",
            AllOf((Missing("code", False), Missing("value-quantity", False))),
        ),
    ],
)
def test_missing_of_a_derived_parameter(query: str, expected: object) -> None:
    terms = parse(query)[0].where.terms
    assert (terms[0] if len(terms) == 1 else AllOf(terms)) == expected


def test_sorting_by_a_derived_parameter_is_refused() -> None:
    query, issues = parse("_sort=combo-code", strict=False)
    assert query.sort == ()
    assert len(issues) == 1
    assert "combo-code" in issues[0].diagnostics
    with pytest.raises(UnsupportedParameter):
        parse("_sort=combo-code")
