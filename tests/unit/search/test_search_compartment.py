"""The Patient compartment parameters."""

from __future__ import annotations

import pytest

from fhir_server.search.compartment import patient_compartment_params
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
