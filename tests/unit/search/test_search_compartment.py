"""The Patient compartment: its parameters, types and the filter of a compartment search."""

from __future__ import annotations

import pytest

from fhir_server.search.compartment import (
    patient_compartment_params,
    patient_compartment_term,
    patient_compartment_types,
)
from fhir_server.search.match import matches
from fhir_server.search.registry import Registry


@pytest.mark.parametrize(
    ("resource_type", "params"),
    [
        ("Observation", ("subject", "performer")),
        ("Encounter", ("subject",)),
        ("Patient", ("link",)),
        ("Device", ()),
        ("Organization", ()),
        ("Nonsense", ()),
    ],
)
def test_patient_compartment_params(resource_type: str, params: tuple[str, ...]) -> None:
    assert patient_compartment_params(resource_type) == params


def test_every_compartment_param_is_a_search_param(registry: Registry) -> None:
    for resource_type in (
        "Observation",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "AuditEvent",
    ):
        for code in patient_compartment_params(resource_type):
            assert registry.get(resource_type, code) is not None, (resource_type, code)


def test_compartment_types_hold_patient_and_clinical_types_only() -> None:
    types = patient_compartment_types()
    assert {"Patient", "Observation", "Encounter", "Condition"} <= set(types)
    assert "Organization" not in types
    assert list(types) == sorted(types)


def test_compartment_term_matches_references_and_the_patient_itself(registry: Registry) -> None:
    term = patient_compartment_term(("Observation", "Patient"), "p1")
    mine = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}
    assert matches({**mine, "subject": {"reference": "Patient/p1"}}, term, registry)
    assert matches({**mine, "performer": [{"reference": "Patient/p1"}]}, term, registry)
    assert not matches({**mine, "subject": {"reference": "Patient/p2"}}, term, registry)
    assert not matches({**mine, "id": "p1"}, term, registry)  # same id, another type
    assert matches({"resourceType": "Patient", "id": "p1"}, term, registry)
    assert not matches({"resourceType": "Patient", "id": "p2"}, term, registry)
