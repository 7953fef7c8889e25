from __future__ import annotations

from typing import Any

import pytest
from terminology_fixtures import SHAPES, call, codes, registry, shapes, value_set

from fhir_server.errors import FhirError, InvalidRequest, NotFound, TooCostly
from terminology.compose import Composer
from terminology.errors import CannotEvaluate
from terminology.expansion import SIGNATURE, expand

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
VS = "http://example.org/ValueSet/test"


def run(vs: dict[str, Any] | None = None, *stored: dict[str, Any], **params: Any) -> dict[str, Any]:
    if vs is not None:
        params["valueSet"] = vs
    return expand(registry(shapes(), *stored), call(SIGNATURE, **params))


def test_a_small_r4_value_set_expands_from_its_code_system() -> None:
    expanded = expand(registry(), call(SIGNATURE, url=GENDER))
    assert expanded["resourceType"] == "ValueSet"
    assert expanded["url"] == GENDER
    assert codes(expanded) == ["male", "female", "other", "unknown"]
    assert expanded["expansion"]["total"] == 4
    first = expanded["expansion"]["contains"][0]
    assert first == {
        "system": "http://hl7.org/fhir/administrative-gender",
        "version": "4.0.1",
        "code": "male",
        "display": "Male",
    }
    assert expanded["expansion"]["identifier"].startswith("urn:uuid:")
    assert "compose" not in expanded
    assert "text" not in expanded


def test_include_definition_keeps_the_compose() -> None:
    expanded = expand(registry(), call(SIGNATURE, url=GENDER, includeDefinition=True))
    assert expanded["compose"]["include"] == [
        {"system": "http://hl7.org/fhir/administrative-gender"}
    ]


def test_paging_reports_total_and_offset_and_records_the_parameters() -> None:
    expanded = expand(registry(), call(SIGNATURE, url=GENDER, offset=1, count=2))
    assert codes(expanded) == ["female", "other"]
    assert expanded["expansion"]["total"] == 4
    assert expanded["expansion"]["offset"] == 1
    assert expanded["expansion"]["parameter"] == [
        {"name": "offset", "valueInteger": 1},
        {"name": "count", "valueInteger": 2},
    ]
    only_total = expand(registry(), call(SIGNATURE, url=GENDER, count=0))
    assert "contains" not in only_total["expansion"]
    assert only_total["expansion"]["total"] == 4


def test_text_filter_matches_word_starts_of_display_or_code() -> None:
    expanded = run(value_set(VS, {"system": SHAPES}), filter="tri")
    assert codes(expanded) == ["triangle"]
    assert codes(run(value_set(VS, {"system": SHAPES}), filter="SQ")) == ["square"]


def test_concept_lists_keep_their_own_displays_and_flags() -> None:
    vs = value_set(
        VS,
        {
            "system": SHAPES,
            "concept": [{"code": "square", "display": "Quadrat"}, {"code": "shape"}],
        },
    )
    contains = run(vs)["expansion"]["contains"]
    assert contains[0]["display"] == "Quadrat"
    assert contains[1] == {
        "system": SHAPES,
        "abstract": True,
        "version": "1",
        "code": "shape",
        "display": "Shape",
    }


def test_excludes_remove_codes_and_inactive_codes_can_be_dropped() -> None:
    vs = value_set(
        VS, {"system": SHAPES}, excludes=[{"system": SHAPES, "concept": [{"code": "circle"}]}]
    )
    assert codes(run(vs)) == ["shape", "polygon", "triangle", "square", "blob"]
    assert codes(run(vs, activeOnly=True, excludeNotForUI=True)) == [
        "polygon",
        "triangle",
        "square",
    ]


@pytest.mark.parametrize(
    ("prop", "op", "value", "expected"),
    [
        ("concept", "is-a", "polygon", ["polygon", "triangle", "square"]),
        ("concept", "descendent-of", "polygon", ["triangle", "square"]),
        ("concept", "is-not-a", "polygon", ["shape", "circle", "blob"]),
        ("concept", "generalizes", "square", ["shape", "polygon", "square"]),
        ("concept", "=", "circle", ["circle"]),
        ("code", "in", "circle,blob", ["circle", "blob"]),
        ("code", "not-in", "circle,blob", ["shape", "polygon", "triangle", "square"]),
        ("code", "regex", "s.*", ["shape", "square"]),
        ("sides", "=", "4", ["square"]),
        ("sides", "exists", "true", ["triangle", "square"]),
        ("parent", "=", "polygon", ["triangle", "square"]),
        ("display", "regex", "C.*", ["circle"]),
    ],
)
def test_filters_select_from_a_hierarchical_code_system(
    prop: str, op: str, value: str, expected: list[str]
) -> None:
    vs = value_set(VS, {"system": SHAPES, "filter": [{"property": prop, "op": op, "value": value}]})
    assert codes(run(vs)) == expected


def test_filters_of_one_include_are_all_applied() -> None:
    both = [
        {"property": "concept", "op": "is-a", "value": "polygon"},
        {"property": "sides", "op": "=", "value": "3"},
    ]
    assert codes(run(value_set(VS, {"system": SHAPES, "filter": both}))) == ["triangle"]


def test_value_set_imports_intersect() -> None:
    polygons = value_set(
        "http://example.org/ValueSet/polygons",
        {"system": SHAPES, "filter": [{"property": "concept", "op": "is-a", "value": "polygon"}]},
    )
    three = value_set(
        "http://example.org/ValueSet/three",
        {"system": SHAPES, "concept": [{"code": "triangle"}, {"code": "circle"}]},
    )
    vs = value_set(VS, {"valueSet": [polygons["url"], three["url"]]})
    assert codes(run(vs, polygons, three)) == ["triangle"]
    with_system = value_set(VS, {"system": SHAPES, "valueSet": [polygons["url"]]})
    assert codes(run(with_system, polygons)) == ["polygon", "triangle", "square"]


def test_a_value_set_importing_itself_is_refused() -> None:
    loop = value_set(VS, {"valueSet": [VS]})
    with pytest.raises(CannotEvaluate, match="imports itself"):
        run(None, loop, url=VS)


def test_a_value_set_with_only_an_expansion_uses_it() -> None:
    stored = {
        "resourceType": "ValueSet",
        "url": VS,
        "status": "active",
        "expansion": {
            "timestamp": "2024-01-01",
            "contains": [
                {"system": SHAPES, "code": "a", "contains": [{"system": SHAPES, "code": "b"}]}
            ],
        },
    }
    assert codes(run(None, stored, url=VS)) == ["a", "b"]


def test_display_language_and_designations() -> None:
    expanded = run(
        value_set(VS, {"system": SHAPES}), displayLanguage="de", includeDesignations=True
    )
    triangle = next(c for c in expanded["expansion"]["contains"] if c["code"] == "triangle")
    assert triangle["display"] == "Dreieck"
    assert triangle["designation"] == [{"language": "de", "value": "Dreieck"}]


def test_exclude_system_drops_a_whole_system() -> None:
    vs = value_set(
        VS,
        {"system": SHAPES, "concept": [{"code": "circle"}]},
        {"system": "http://x", "concept": [{"code": "y"}]},
    )
    assert codes(run(vs, exclude_system=[SHAPES])) == ["y"]


@pytest.mark.parametrize(
    ("include", "error", "message"),
    [
        ({"system": "http://loinc.org"}, TooCostly, "all of LOINC"),
        ({"system": "http://snomed.info/sct"}, TooCostly, "all of SNOMED CT"),
        ({"system": "http://unitsofmeasure.org"}, TooCostly, "all of UCUM"),
        ({"system": "http://example.org/unknown"}, CannotEvaluate, "not held"),
        (
            {
                "system": "http://loinc.org",
                "filter": [{"property": "concept", "op": "is-a", "value": "x"}],
            },
            CannotEvaluate,
            "held only in part",
        ),
        ({"system": SHAPES, "concept": [{"code": "hexagon"}]}, CannotEvaluate, "not a code"),
        ({"system": SHAPES, "version": "9"}, CannotEvaluate, "version 9"),
        (
            {"system": SHAPES, "filter": [{"property": "concept", "op": "~", "value": "x"}]},
            CannotEvaluate,
            "not supported",
        ),
        (
            {"system": SHAPES, "filter": [{"property": "colour", "op": "=", "value": "x"}]},
            CannotEvaluate,
            "no such property",
        ),
        ({"valueSet": ["http://example.org/missing"]}, CannotEvaluate, "not known"),
    ],
)
def test_expansions_that_cannot_be_done_say_why(
    include: dict[str, Any], error: type[FhirError], message: str
) -> None:
    with pytest.raises(error, match=message):
        run(value_set(VS, include))


def test_too_large_expansions_are_too_costly() -> None:
    dcm = value_set(VS, {"system": "http://dicom.nema.org/resources/ontology/DCM"})
    assert len(Composer(registry()).expand(dcm)) > 3000
    with pytest.raises(TooCostly, match="more than 100"):
        Composer(registry(), limit=100).expand(dcm)


def test_the_value_set_is_named_exactly_once() -> None:
    with pytest.raises(InvalidRequest, match="needs url"):
        expand(registry(), call(SIGNATURE, count=1))
    with pytest.raises(InvalidRequest, match="either url or a ValueSet"):
        run(value_set(VS, {"system": SHAPES}), url=VS)
    with pytest.raises(NotFound, match="is not known"):
        expand(registry(), call(SIGNATURE, url="http://example.org/none"))


def test_an_instance_is_expanded_and_a_different_url_is_refused() -> None:
    vs = value_set(VS, {"system": SHAPES, "concept": [{"code": "circle"}]})
    assert codes(expand(registry(shapes()), call(SIGNATURE), vs)) == ["circle"]
    with pytest.raises(InvalidRequest, match="not the url"):
        expand(registry(shapes()), call(SIGNATURE, url="http://other"), vs)


def test_versioned_url_picks_that_version() -> None:
    old = value_set(VS, {"system": SHAPES, "concept": [{"code": "circle"}]}, version="1")
    new = value_set(VS, {"system": SHAPES, "concept": [{"code": "square"}]}, version="2")
    assert codes(run(None, old, new, url=f"{VS}|1")) == ["circle"]
    assert codes(run(None, old, new, url=VS, valueSetVersion="2")) == ["square"]
    assert codes(run(None, old, new, url=VS)) == ["square"], "newest first"


def test_a_stored_expansion_that_is_only_a_page_is_not_taken_as_whole() -> None:
    paged = {
        "resourceType": "ValueSet",
        "url": VS,
        "status": "active",
        "expansion": {
            "timestamp": "2024-01-01",
            "total": 3,
            "contains": [{"system": SHAPES, "code": "a"}],
        },
    }
    with pytest.raises(CannotEvaluate, match="1 of its 3 codes"):
        run(None, paged, url=VS)
