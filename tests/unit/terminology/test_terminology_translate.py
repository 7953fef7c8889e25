from __future__ import annotations

from typing import Any

import pytest
from terminology_fixtures import call, out, registry

from fhir_server.errors import InvalidRequest, NotFound
from terminology.errors import CannotEvaluate
from terminology.mdc import MDC, MDC_TO_LOINC
from terminology.translate import SIGNATURE, translate

LOINC = "http://loinc.org"
A, B = "http://example.org/a", "http://example.org/b"


def concept_map(url: str, *groups: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ConceptMap",
        "id": url.rsplit("/", 1)[-1],
        "url": url,
        "status": "active",
        "group": list(groups),
        **extra,
    }


def group(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"source": A, "target": B, "element": list(elements), **extra}


def element(code: str, *targets: tuple[str, str], **target_extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "target": [{"code": t, "equivalence": eq, **target_extra} for t, eq in targets],
    }


def matches(answer: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    found = []
    for entry in answer["parameter"]:
        if entry["name"] == "match":
            parts = {p["name"]: p for p in entry["part"]}
            concept = parts.get("concept", {}).get("valueCoding", {})
            found.append(
                (
                    parts["equivalence"]["valueCode"],
                    concept.get("code"),
                    parts["source"]["valueUri"],
                )
            )
    return found


def run(*stored: dict[str, Any], **params: Any) -> dict[str, Any]:
    return translate(registry(*stored), call(SIGNATURE, **params))


def test_an_mdc_vital_sign_translates_to_loinc() -> None:
    answer = run(system=MDC, code="150456", targetsystem=LOINC)
    assert out(answer, "result") is True
    assert matches(answer) == [
        ("equivalent", "59408-5", MDC_TO_LOINC),
        ("wider", "2708-6", MDC_TO_LOINC),
    ]
    first = next(p for p in answer["parameter"] if p["name"] == "match")
    assert first["part"][1]["valueCoding"] == {
        "system": LOINC,
        "code": "59408-5",
        "display": "Oxygen saturation in Arterial blood by Pulse oximetry",
    }


def test_reverse_maps_loinc_back_to_mdc_with_the_equivalence_turned() -> None:
    answer = run(system=LOINC, code="8867-4", targetsystem=MDC, reverse=True)
    assert matches(answer) == [
        ("narrower", "147842", MDC_TO_LOINC),
        ("narrower", "149530", MDC_TO_LOINC),
        ("narrower", "149546", MDC_TO_LOINC),
    ]


def test_a_code_without_a_mapping_is_false_with_a_message() -> None:
    answer = run(system=MDC, code="150488", targetsystem=LOINC)
    assert out(answer, "result") is False
    assert "No mapping for" in out(answer, "message")
    nothing = run(system="http://example.org/none", code="x")
    assert out(nothing, "result") is False
    assert "No concept map applies" in out(nothing, "message")


def test_a_shipped_r4_map_is_used_by_url() -> None:
    answer = run(
        url="http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2",
        system="http://hl7.org/fhir/administrative-gender",
        code="male",
    )
    assert out(answer, "result") is True
    assert [m[:2] for m in matches(answer)] == [("equal", "M")]


def test_unmatched_and_disjoint_matches_do_not_make_a_result() -> None:
    cmap = concept_map("http://example.org/cm", group(element("x", ("y", "unmatched"))))
    answer = run(cmap, url=cmap["url"], system=A, code="x")
    assert out(answer, "result") is False
    assert matches(answer) == [("unmatched", "y", cmap["url"])]


def test_source_and_target_value_sets_choose_the_maps() -> None:
    one = concept_map(
        "http://example.org/one", group(element("x", ("1", "equal"))), targetUri="http://vs/1"
    )
    two = concept_map(
        "http://example.org/two", group(element("x", ("2", "equal"))), targetUri="http://vs/2"
    )
    answer = run(one, two, system=A, code="x", target="http://vs/2")
    assert [m[1] for m in matches(answer)] == ["2"]
    assert {m[1] for m in matches(run(one, two, system=A, code="x"))} == {"1", "2"}


def test_unmapped_codes_follow_the_group_rule() -> None:
    fixed = concept_map(
        "http://example.org/fixed",
        group(element("x", ("y", "equal")), unmapped={"mode": "fixed", "code": "other"}),
    )
    provided = concept_map("http://example.org/provided", group(unmapped={"mode": "provided"}))
    chained = concept_map(
        "http://example.org/chained",
        group(unmapped={"mode": "other-map", "url": fixed["url"]}),
    )
    assert matches(run(fixed, url=fixed["url"], system=A, code="q")) == [
        ("inexact", "other", fixed["url"])
    ]
    assert matches(run(provided, url=provided["url"], system=A, code="q")) == [
        ("equal", "q", provided["url"])
    ]
    assert matches(run(chained, fixed, url=chained["url"], system=A, code="q")) == [
        ("inexact", "other", fixed["url"])
    ]
    looping = concept_map(
        "http://example.org/loop",
        group(unmapped={"mode": "other-map", "url": "http://example.org/loop"}),
    )
    with pytest.raises(CannotEvaluate, match="cannot be followed"):
        run(looping, url=looping["url"], system=A, code="q")


def test_conditional_mappings_are_left_out_and_counted() -> None:
    cmap = concept_map(
        "http://example.org/cm",
        group(element("x", ("y", "equal"), dependsOn=[{"property": "http://p", "value": "1"}])),
    )
    answer = run(cmap, url=cmap["url"], system=A, code="x")
    assert out(answer, "result") is False
    assert "1 mapping(s) apply only under dependsOn" in out(answer, "message")


def test_products_are_returned() -> None:
    cmap = concept_map(
        "http://example.org/cm",
        group(
            element(
                "x", ("y", "equal"), product=[{"property": "http://p", "system": B, "value": "z"}]
            )
        ),
    )
    [match] = [
        p
        for p in run(cmap, url=cmap["url"], system=A, code="x")["parameter"]
        if p["name"] == "match"
    ]
    [product] = [p for p in match["part"] if p["name"] == "product"]
    assert product["part"] == [
        {"name": "element", "valueUri": "http://p"},
        {"name": "concept", "valueCoding": {"system": B, "code": "z"}},
    ]


def test_a_map_given_inline_or_unknown() -> None:
    cmap = concept_map("http://example.org/cm", group(element("x", ("y", "equivalent"))))
    assert out(run(conceptMap=cmap, system=A, code="x"), "result") is True
    with pytest.raises(NotFound):
        run(url="http://example.org/none", system=A, code="x")
    with pytest.raises(InvalidRequest, match="every coding needs a system"):
        run(coding={"code": "x"})
