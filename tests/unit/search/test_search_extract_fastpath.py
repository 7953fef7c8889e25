"""The fast path gives the same index entries as fhirpathpy, on R4 example shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from search_support import FIXTURE_NAMES, load

from fhir_server.search._fastpath import compile_fast
from fhir_server.search.extract import extract
from fhir_server.search.registry import Registry

EXTRA_SHAPES: list[dict[str, Any]] = [
    {
        "resourceType": "CarePlan",
        "id": "cp",
        "subject": {"reference": "Patient/example"},
        "activity": [
            {
                "detail": {
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "3141-9"}]},
                    "scheduledTiming": {
                        "event": ["2015-01-15T08:00:00Z"],
                        "repeat": {"boundsPeriod": {"start": "2015-01-15"}},
                    },
                }
            }
        ],
    },
    {
        "resourceType": "Observation",
        "id": "string-value",
        "status": "preliminary",
        "code": {"text": "Comment"},
        "subject": {"reference": "Group/g1"},
        "valueString": "Patient feels fine",
        "effectiveInstant": "2024-05-01T10:00:00.123456Z",
    },
    {
        "resourceType": "Observation",
        "id": "concept-value",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "883-9"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "112144000", "display": "A"}]
        },
        "effectiveTiming": {"event": ["2024-05-01"]},
    },
    {
        "resourceType": "Questionnaire",
        "id": "q",
        "url": "http://example.org/Questionnaire/q",
        "useContext": [
            {
                "code": {
                    "system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                    "code": "age",
                },
                "valueRange": {"low": {"value": 18}},
            },
            {
                "code": {
                    "system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                    "code": "focus",
                },
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "1"}]
                },
            },
        ],
        "item": [{"linkId": "1", "item": [{"linkId": "1.1", "code": [{"code": "x"}]}]}],
    },
    {
        "resourceType": "RiskAssessment",
        "id": "r",
        "subject": {"reference": "Patient/example"},
        "prediction": [{"probabilityDecimal": 0.025}, {"probabilityRange": {"low": {"value": 1}}}],
    },
    {
        "resourceType": "Patient",
        "id": "deceased",
        "deceasedDateTime": "2020-01-01",
        "telecom": [{"system": "email", "value": "a@b.org"}],
    },
    {
        "resourceType": "Bundle",
        "id": "b",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"},
        "entry": [{"resource": {"resourceType": "Composition", "id": "c"}}],
    },
]


R4_EXAMPLES = Path(__file__).parents[2] / "fixtures" / "r4-examples"


def shapes() -> list[dict[str, Any]]:
    official = [json.loads(p.read_text("utf-8")) for p in sorted(R4_EXAMPLES.glob("*.json"))]
    return [load(name) for name in FIXTURE_NAMES] + EXTRA_SHAPES + official


@pytest.mark.parametrize("resource", shapes(), ids=lambda r: f"{r['resourceType']}-{r['id']}")
def test_fast_path_and_fhirpathpy_agree(registry: Registry, resource: dict[str, Any]) -> None:
    fast = extract(resource, registry)
    reference = extract(resource, registry, fast_path=False)
    assert fast
    assert set(fast) == set(reference)


def test_every_observation_expression_takes_the_fast_path(registry: Registry) -> None:
    slow = [
        code
        for code, param in registry.for_type("Observation").items()
        if param.type != "composite"
        and (expression := param.expression_for("Observation")) is not None
        and compile_fast(expression, "Observation") is None
    ]
    assert slow == []


@pytest.mark.parametrize(
    "expression",
    [
        "Observation.code",
        "(Observation.effective as dateTime)",
        "Observation.value as Quantity",
        "Observation.value.ofType(Quantity)",
        "Observation.subject.where(resolve() is Patient)",
        "Patient.telecom.where(system='email')",
        "Observation.code | Observation.component.code",
        "(Observation.value as CodeableConcept).text",
    ],
)
def test_simple_paths_compile(expression: str) -> None:
    assert compile_fast(expression, expression.lstrip("(").split(".")[0]) is not None


@pytest.mark.parametrize(
    "expression",
    [
        "Patient.deceased.exists() and Patient.deceased != false",
        "Patient.extension('http://example.org/x').value",
        "Observation.code.coding.first()",
        "Observation.nonsense",
        "Patient.code",
    ],
)
def test_other_expressions_fall_back_to_fhirpathpy(expression: str) -> None:
    assert compile_fast(expression, expression.split(".")[0]) is None
