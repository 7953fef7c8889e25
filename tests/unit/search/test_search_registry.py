"""The search parameter registry: R4 definitions, per-type expressions, custom parameters."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.definitions import search_parameter_bundle
from fhir_server.errors import Unprocessable
from fhir_server.search.extract import extract
from fhir_server.search.index import StringEntry
from fhir_server.search.registry import Component, Registry, default_registry


def test_every_r4_parameter_is_loaded(registry: Registry) -> None:
    urls = {e["resource"]["url"] for e in search_parameter_bundle()["entry"]}
    assert len(urls) == 1378
    assert all(registry.by_url(url) is not None for url in urls)


def test_default_registry_is_shared() -> None:
    assert default_registry() is default_registry()


def test_a_type_has_its_own_and_the_common_parameters(registry: Registry) -> None:
    params = registry.for_type("Observation")
    for code in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"):
        assert code in params
    for code in ("code", "subject", "patient", "value-quantity", "component-code-value-quantity"):
        assert code in params
    assert "birthdate" not in params
    assert set(registry.for_type("Resource")) >= {"_id", "_lastUpdated"}


@pytest.mark.parametrize(
    ("resource_type", "code", "expression"),
    [
        ("Observation", "code", "Observation.code"),
        ("MedicationRequest", "code", "(MedicationRequest.medication as CodeableConcept)"),
        ("Observation", "_id", "Observation.id"),
        ("Patient", "_lastUpdated", "Patient.meta.lastUpdated"),
        ("Observation", "patient", "Observation.subject.where(resolve() is Patient)"),
        ("Observation", "combo-code", "Observation.code | Observation.component.code"),
        ("InsurancePlan", "name", "InsurancePlan.name | InsurancePlan.alias"),
        ("Observation", "code-value-quantity", "Observation"),
    ],
)
def test_union_expressions_are_split_per_type(
    registry: Registry, resource_type: str, code: str, expression: str
) -> None:
    param = registry.get(resource_type, code)
    assert param is not None
    assert param.expression_for(resource_type) == expression


def test_a_type_outside_the_base_has_no_expression(registry: Registry) -> None:
    param = registry.by_url("http://hl7.org/fhir/SearchParameter/clinical-code")
    assert param is not None
    assert param.expression_for("Patient") is None


def test_parameter_shape(registry: Registry) -> None:
    subject = registry.get("Observation", "subject")
    assert subject is not None
    assert subject.type == "reference"
    assert set(subject.targets) >= {"Patient", "Device", "Group"}
    assert "identifier" in subject.modifiers
    quantity = registry.get("Observation", "value-quantity")
    assert quantity is not None
    assert quantity.comparators == ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap")
    string = registry.get("Patient", "name")
    assert string is not None
    assert string.modifiers == ("missing", "exact", "contains")


def test_composite_components_are_resolved(registry: Registry) -> None:
    param = registry.get("Observation", "component-code-value-quantity")
    assert param is not None
    assert param.components == (
        Component(
            "http://hl7.org/fhir/SearchParameter/Observation-component-code",
            "component-code",
            "token",
            "code",
        ),
        Component(
            "http://hl7.org/fhir/SearchParameter/Observation-component-value-quantity",
            "component-value-quantity",
            "quantity",
            "value.as(Quantity)",
        ),
    )


def test_operator_switches_parameters_off() -> None:
    registry = Registry.from_bundle(
        search_parameter_bundle(), disabled={"value-string", "Patient.name"}
    )
    assert registry.get("Observation", "value-string") is None
    assert registry.get("Observation", "code") is not None
    assert registry.get("Patient", "name") is None
    assert registry.get("Practitioner", "name") is not None


MAIDEN_NAME = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"


def custom_parameter(**overrides: Any) -> dict[str, Any]:
    return {
        "resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/mothers-maiden-name",
        "name": "MothersMaidenName",
        "status": "active",
        "code": "mothers-maiden-name",
        "base": ["Patient"],
        "type": "string",
        "expression": f"Patient.extension('{MAIDEN_NAME}').value",
        **overrides,
    }


def test_custom_parameter_is_indexed_for_data_written_after() -> None:
    registry = Registry.from_bundle(search_parameter_bundle())
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "extension": [{"url": MAIDEN_NAME, "valueString": "Håkansson"}],
    }
    assert not [e for e in extract(patient, registry) if e.param == "mothers-maiden-name"]
    version = registry.version
    param = registry.add(custom_parameter())
    assert registry.version > version
    assert registry.get("Patient", "mothers-maiden-name") == param
    assert StringEntry("mothers-maiden-name", "hakansson", "Håkansson") in extract(
        patient, registry
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"resourceType": "Patient"},
        {"code": None},
        {"type": "fancy"},
        {"base": []},
        {"expression": None},
        {"type": "composite", "component": [{"definition": "http://nowhere/x", "expression": "a"}]},
    ],
)
def test_unusable_custom_parameter_is_rejected(overrides: dict[str, Any]) -> None:
    registry = Registry.from_bundle(search_parameter_bundle())
    with pytest.raises(Unprocessable):
        registry.add(custom_parameter(**overrides))
