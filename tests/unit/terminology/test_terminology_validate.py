from __future__ import annotations

from typing import Any

import pytest
from terminology_fixtures import SHAPES, call, out, registry, shapes, value_set

from fhir_server.errors import InvalidRequest, NotFound
from terminology.errors import CannotEvaluate
from terminology.validate import (
    CODE_SYSTEM_SIGNATURE,
    VALUE_SET_SIGNATURE,
    validate_code_system,
    validate_value_set,
)

VITALS = "http://hl7.org/fhir/ValueSet/observation-vitalsignresult"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VS = "http://example.org/ValueSet/test"


def in_value_set(*stored: dict[str, Any], **params: Any) -> dict[str, Any]:
    return validate_value_set(registry(shapes(), *stored), call(VALUE_SET_SIGNATURE, **params))


def in_code_system(**params: Any) -> dict[str, Any]:
    return validate_code_system(registry(shapes()), call(CODE_SYSTEM_SIGNATURE, **params))


def test_a_vital_sign_code_is_in_the_vital_signs_value_set() -> None:
    answer = in_value_set(url=VITALS, system=LOINC, code="8867-4")
    assert out(answer, "result") is True
    assert out(answer, "display") == "Heart rate"
    assert out(answer, "message") is None


def test_a_code_outside_the_value_set_is_false_with_a_message() -> None:
    answer = in_value_set(url=VITALS, system=LOINC, code="59408-5")
    assert out(answer, "result") is False
    assert "not in the value set" in out(answer, "message")


def test_a_wrong_display_is_invalid_and_the_right_one_is_given() -> None:
    answer = in_value_set(url=VITALS, system=LOINC, code="8867-4", display="Pulse")
    assert out(answer, "result") is False
    assert out(answer, "display") == "Heart rate"
    assert "'Pulse' is not a display" in out(answer, "message")
    assert out(
        in_value_set(url=VITALS, system=LOINC, code="8867-4", display="heart RATE"), "result"
    )


def test_a_codeable_concept_is_valid_when_one_coding_is() -> None:
    concept = {
        "coding": [
            {"system": "urn:iso:std:iso:11073:10101", "code": "147842"},
            {"system": LOINC, "code": "8867-4"},
        ]
    }
    answer = in_value_set(url=VITALS, codeableConcept=concept)
    assert out(answer, "result") is True
    assert "147842" in out(answer, "message"), "the failing coding is reported as a hint"


def test_abstract_codes_are_refused_only_when_asked() -> None:
    vs = value_set(VS, {"system": SHAPES})
    coding = {"system": SHAPES, "code": "shape"}
    assert out(in_value_set(vs, url=VS, coding=coding), "result") is True
    refused = in_value_set(vs, url=VS, coding=coding, abstract=False)
    assert out(refused, "result") is False
    assert "abstract" in out(refused, "message")


def test_membership_follows_filters_excludes_and_imports() -> None:
    polygons = value_set(
        VS,
        {"system": SHAPES, "filter": [{"property": "concept", "op": "is-a", "value": "polygon"}]},
        excludes=[{"system": SHAPES, "concept": [{"code": "square"}]}],
    )
    wrapper = value_set("http://example.org/ValueSet/wrapper", {"valueSet": [VS]})
    results = {
        code: out(
            in_value_set(polygons, wrapper, url=wrapper["url"], system=SHAPES, code=code), "result"
        )
        for code in ("polygon", "triangle", "square", "circle")
    }
    assert results == {"polygon": True, "triangle": True, "square": False, "circle": False}


def test_ucum_value_sets_accept_any_valid_unit() -> None:
    units = "http://hl7.org/fhir/ValueSet/ucum-units"
    assert out(in_value_set(url=units, system=UCUM, code="mg/dL"), "result") is True
    assert out(in_value_set(url=units, system=UCUM, code="mgdl"), "result") is False


def test_undecidable_membership_fails_instead_of_answering_false() -> None:
    observation_codes = "http://hl7.org/fhir/ValueSet/observation-codes"
    assert out(in_value_set(url=observation_codes, system=LOINC, code="8867-4"), "result") is True
    with pytest.raises(CannotEvaluate, match="held only in part"):
        in_value_set(url=observation_codes, system=LOINC, code="2345-7")


def test_a_stated_version_that_is_not_held_cannot_be_judged() -> None:
    vs = value_set(VS, {"system": SHAPES})
    with pytest.raises(CannotEvaluate, match="version 7"):
        in_value_set(vs, url=VS, system=SHAPES, code="circle", systemVersion="7")


def test_value_set_validation_needs_one_coded_value_with_a_system() -> None:
    with pytest.raises(InvalidRequest, match="needs a system"):
        in_value_set(url=VITALS, code="8867-4")
    with pytest.raises(InvalidRequest, match="exactly one"):
        in_value_set(url=VITALS, system=LOINC, code="8867-4", coding={"system": LOINC, "code": "x"})
    with pytest.raises(InvalidRequest, match="exactly one"):
        in_value_set(url=VITALS)
    with pytest.raises(NotFound):
        in_value_set(url="http://example.org/none", system=LOINC, code="8867-4")


def test_code_system_validation_of_ucum_units() -> None:
    valid = in_code_system(url=UCUM, code="mm[Hg]")
    assert (out(valid, "result"), out(valid, "display")) == (True, "mm[Hg]")
    invalid = in_code_system(url=UCUM, code="mmHg")
    assert out(invalid, "result") is False
    assert "unknown unit 'mmHg'" in out(invalid, "message")
    by_coding = in_code_system(coding={"system": UCUM, "code": "kg/m2"})
    assert out(by_coding, "result") is True


def test_code_system_validation_of_a_complete_code_system() -> None:
    assert out(in_code_system(url=SHAPES, code="square"), "result") is True
    unknown = in_code_system(url=SHAPES, code="hexagon")
    assert out(unknown, "result") is False
    assert "Unknown code 'hexagon'" in out(unknown, "message")
    other = in_code_system(url=SHAPES, coding={"system": LOINC, "code": "8867-4"})
    assert out(other, "result") is False


def test_the_loinc_fragment_validates_its_codes_and_admits_ignorance_of_others() -> None:
    answer = in_code_system(url=LOINC, code="8480-6", display="Systolic blood pressure")
    assert out(answer, "result") is True
    with pytest.raises(CannotEvaluate, match="held only in part"):
        in_code_system(url=LOINC, code="2345-7")


def test_code_system_given_inline_or_unknown() -> None:
    inline = in_code_system(codeSystem=shapes(url="http://example.org/inline"), code="circle")
    assert out(inline, "result") is True
    with pytest.raises(NotFound):
        in_code_system(url="http://example.org/none", code="x")
    with pytest.raises(InvalidRequest, match="needs url"):
        in_code_system(code="x")


def test_a_later_include_decides_when_an_earlier_one_cannot() -> None:
    vs = value_set(VS, {"system": LOINC}, {"system": LOINC, "concept": [{"code": "2345-7"}]})
    assert out(in_value_set(vs, url=VS, system=LOINC, code="2345-7"), "result") is True
    with pytest.raises(CannotEvaluate, match="held only in part"):
        in_value_set(vs, url=VS, system=LOINC, code="9999-9")


def test_a_codeable_concept_is_valid_even_when_another_coding_cannot_be_judged() -> None:
    concept = {"coding": [{"system": LOINC, "code": "2345-7"}, {"system": LOINC, "code": "8867-4"}]}
    answer = in_code_system(url=LOINC, codeableConcept=concept)
    assert out(answer, "result") is True
    assert "2345-7" in out(answer, "message")
