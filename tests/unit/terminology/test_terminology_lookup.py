from __future__ import annotations

from typing import Any

import pytest
from terminology_fixtures import SHAPES, call, out, registry, shapes

from fhir_server.errors import InvalidRequest, NotFound
from terminology.lookup import SIGNATURE, lookup


def look(**params: Any) -> dict[str, Any]:
    return lookup(registry(shapes()), call(SIGNATURE, **params))


def properties(answer: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for entry in answer["parameter"]:
        if entry["name"] == "property":
            code, value = entry["part"]
            found.append((code["valueCode"], next(v for k, v in value.items() if k != "name")))
    return found


def test_a_loinc_vital_sign_is_looked_up_in_the_fragment() -> None:
    answer = look(system="http://loinc.org", code="8867-4")
    assert answer["parameter"] == [
        {"name": "name", "valueString": "LOINC (vital signs fragment)"},
        {"name": "display", "valueString": "Heart rate"},
    ]


def test_a_concept_gives_version_definition_hierarchy_properties_and_designations() -> None:
    answer = look(coding={"system": SHAPES, "code": "triangle"})
    assert out(answer, "name") == "Shapes"
    assert out(answer, "version") == "1"
    assert out(answer, "display") == "Triangle"
    assert properties(answer) == [
        ("definition", "Three sides."),
        ("parent", "polygon"),
        ("sides", 3),
    ]
    [designation] = [p for p in answer["parameter"] if p["name"] == "designation"]
    assert designation["part"] == [
        {"name": "language", "valueCode": "de"},
        {"name": "value", "valueString": "Dreieck"},
    ]


def test_asked_properties_narrow_the_answer() -> None:
    answer = look(system=SHAPES, code="polygon", property=["child"])
    assert properties(answer) == [("child", "triangle"), ("child", "square")]
    assert out(answer, "designation") is None


def test_display_language_uses_a_designation() -> None:
    assert out(look(system=SHAPES, code="triangle", displayLanguage="de"), "display") == "Dreieck"


def test_a_ucum_unit_is_looked_up_by_validating_it() -> None:
    answer = look(system="http://unitsofmeasure.org", code="mm[Hg]")
    assert (out(answer, "name"), out(answer, "version"), out(answer, "display")) == (
        "Unified Code for Units of Measure (UCUM)",
        "2.2",
        "mm[Hg]",
    )
    with pytest.raises(NotFound, match="not valid UCUM"):
        look(system="http://unitsofmeasure.org", code="mmHg")


def test_unknown_systems_and_codes_are_not_found() -> None:
    with pytest.raises(NotFound, match=r"code system http://example\.org/none is not known"):
        look(system="http://example.org/none", code="x")
    with pytest.raises(NotFound, match="'hexagon' is not a code of Shapes"):
        look(system=SHAPES, code="hexagon")
    with pytest.raises(NotFound, match="holds it only in part"):
        look(system="http://loinc.org", code="2345-7")
    with pytest.raises(NotFound, match=r"http://example.org/shapes\|9"):
        look(system="http://example.org/shapes", code="x", version="9")


def test_a_code_needs_its_system() -> None:
    with pytest.raises(InvalidRequest, match="needs a system"):
        look(code="8867-4")
