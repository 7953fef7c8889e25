"""The in-memory matcher: every parameter type, modifier and prefix over R4 example shapes."""

from __future__ import annotations

from typing import Any

import pytest
from search_support import FIXTURE_NAMES, load, parse

from fhir_server.errors import UnsupportedParameter
from fhir_server.search.match import filter_resources, matches
from fhir_server.search.registry import Registry

UCUM = "http://unitsofmeasure.org"

EXTRA: list[dict[str, Any]] = [
    {
        "resourceType": "Observation",
        "id": "dose",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "3141-9"}]},
        "subject": {"reference": "Patient/marche"},
        "valueQuantity": {"value": 150, "unit": "mg", "system": UCUM, "code": "mg"},
    },
    {
        "resourceType": "Patient",
        "id": "marche",
        "name": [{"family": "du Marché", "given": ["Bénédicte"]}],
        "birthDate": "1980",
        "managingOrganization": {"reference": "Organization/gastro"},
    },
    {"resourceType": "Organization", "id": "gastro", "name": "Gastro Clinic"},
    {"resourceType": "RiskAssessment", "id": "risk", "prediction": [{"probabilityDecimal": 0.02}]},
]


@pytest.fixture(scope="module")
def pool() -> list[dict[str, Any]]:
    return [load(name) for name in FIXTURE_NAMES] + EXTRA


CASES: list[tuple[str, str, set[str]]] = [
    # token
    ("Observation", "code=http://loinc.org|8867-4", {"heart-rate"}),
    ("Observation", "code=8867-4", {"heart-rate"}),
    ("Observation", "code=http://snomed.info/sct|8867-4", set()),
    ("Observation", "code=|8867-4", set()),
    ("Observation", "code=http://loinc.org|", {"heart-rate", "blood-pressure", "f001", "dose"}),
    ("Observation", "code:not=8867-4", {"blood-pressure", "f001", "dose"}),
    ("Observation", "code:text=blood pressure sys", {"blood-pressure"}),
    ("Observation", "code:text=heart", {"heart-rate"}),
    ("Observation", "component-code=8480-6", {"blood-pressure"}),
    ("Observation", "combo-code=8480-6,8867-4", {"blood-pressure", "heart-rate"}),
    ("Patient", "identifier=urn:oid:1.2.36.146.595.217.0.1|12345", {"example"}),
    (
        "Patient",
        "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345",
        {"example"},
    ),
    ("Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|999", set()),
    ("Patient", "identifier:text=medical record", {"example"}),
    ("Patient", "gender=male", {"example"}),
    ("Patient", "gender:missing=true", {"marche"}),
    ("Patient", "active=true", {"example"}),
    ("Patient", "email=peter.chalmers@example.org", {"example"}),
    ("Patient", "telecom=phone|(03) 3410 5613", {"example"}),
    ("Observation", "_tag=http://example.org/tags|icu", {"heart-rate"}),
    ("Observation", "_id=heart-rate,f001", {"heart-rate", "f001"}),
    # string
    ("Patient", "name=chal", {"example"}),
    ("Patient", "name=BENE", {"marche"}),
    ("Patient", "family=du marche", {"marche"}),
    ("Patient", "name:exact=Chalmers", {"example"}),
    ("Patient", "name:exact=chalmers", set()),
    ("Patient", "name:contains=ALMER", {"example"}),
    ("Patient", "address-city=pleasant", {"example"}),
    ("Patient", "name:missing=false", {"example", "marche"}),
    # date
    ("Patient", "birthdate=1974", {"example"}),
    ("Patient", "birthdate=1974-12-25", {"example"}),
    ("Patient", "birthdate=1974-12-25T10:00", set()),
    ("Patient", "birthdate=lt1975", {"example"}),
    ("Patient", "birthdate=gt1975", {"marche"}),
    ("Patient", "birthdate=ge1980-06", {"marche"}),
    ("Patient", "birthdate=ne1974", {"marche"}),
    ("Patient", "birthdate=sa1979", {"marche"}),
    ("Patient", "birthdate=eb1975", {"example"}),
    ("Observation", "date=2012-09-17", {"blood-pressure"}),
    ("Observation", "date=gt2013-04-01", {"f001"}),
    ("Observation", "date=ge2012&date=lt2013", {"blood-pressure"}),
    ("Observation", "date=ap1999-07-02", {"heart-rate"}),
    ("Observation", "_lastUpdated=gt2024-05-01T09:30:30Z", {"blood-pressure"}),
    ("Observation", "_lastUpdated=2024-05-01", {"heart-rate", "blood-pressure"}),
    ("MedicationRequest", "date=2015-01-16", {"medrx0302"}),
    # number
    ("RiskAssessment", "probability=0.02", {"risk"}),
    ("RiskAssessment", "probability=0.020", {"risk"}),
    ("RiskAssessment", "probability=gt0.01", {"risk"}),
    ("RiskAssessment", "probability=lt0.02", set()),
    ("RiskAssessment", "probability=ap0.021", {"risk"}),
    # quantity
    ("Observation", f"value-quantity=gt0.1|{UCUM}|g", {"dose"}),
    ("Observation", f"value-quantity=150|{UCUM}|mg", {"dose"}),
    ("Observation", f"value-quantity=0.15|{UCUM}|g", {"dose"}),
    ("Observation", f"value-quantity=lt100|{UCUM}|mg", set()),
    ("Observation", "value-quantity=150||mg", {"dose"}),
    ("Observation", "value-quantity=gt100", {"dose"}),
    ("Observation", f"value-quantity=44|{UCUM}|/min", {"heart-rate"}),
    ("Observation", f"value-quantity=ge6.3|{UCUM}|mmol/L", {"f001"}),
    ("Observation", f"component-value-quantity=gt14|{UCUM}|kPa", {"blood-pressure"}),
    ("Observation", f"component-value-quantity=lt8.1|{UCUM}|kPa", {"blood-pressure"}),
    ("Observation", f"component-value-quantity=gt15|{UCUM}|kPa", set()),
    ("Observation", f"component-value-quantity=lt8|{UCUM}|kPa", set()),
    ("Encounter", f"length=0.5|{UCUM}|h", {"example"}),
    ("Condition", f"abatement-age=lt50|{UCUM}|a", {"example"}),
    # reference
    ("Observation", "subject=Patient/example", {"heart-rate", "blood-pressure"}),
    ("Observation", "subject=example", {"heart-rate", "blood-pressure"}),
    ("Observation", "subject:Patient=marche", {"dose"}),
    ("Observation", "subject:Group=example", set()),
    ("Observation", "subject=http://example.org/fhir/Patient/f001", {"f001"}),
    ("Observation", "subject=Patient/f001", {"f001"}),
    ("Observation", "patient=example", {"heart-rate", "blood-pressure"}),
    ("Observation", "based-on:identifier=https://acme.org/identifiers|1234", {"blood-pressure"}),
    ("Observation", "based-on:missing=true", {"heart-rate", "blood-pressure", "f001", "dose"}),
    ("Observation", "device:missing=false", {"heart-rate"}),
    ("MedicationRequest", "intended-performer:missing=true", {"medrx0302"}),
    # uri
    ("Device", "url=http://acme.org/devices/monitor-7", {"monitor-7"}),
    ("Device", "url:below=http://acme.org/devices", {"monitor-7"}),
    ("Device", "url:above=http://acme.org/devices/monitor-7/v2", {"monitor-7"}),
    ("Device", "url:above=http://acme.org", set()),
    (
        "Observation",
        "_profile=http://hl7.org/fhir/StructureDefinition/vitalsigns",
        {"heart-rate", "blood-pressure"},
    ),
    ("Observation", "_source=urn:device:monitor-7", {"heart-rate"}),
    # composite
    (
        "Observation",
        "component-code-value-quantity=http://loinc.org|8480-6$gt100",
        {"blood-pressure"},
    ),
    ("Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", set()),
    ("Observation", f"code-value-quantity=8867-4$lt50|{UCUM}|/min", {"heart-rate"}),
    ("Observation", "code-value-quantity=8867-4$ne44", set()),
    ("Observation", "combo-code-value-quantity=8462-4$60.5", {"blood-pressure"}),
    # chains and reverse chains
    ("Observation", "subject:Patient.name=peter", {"heart-rate", "blood-pressure"}),
    ("Observation", "subject.birthdate=1980", {"dose"}),
    ("Observation", "subject:Patient.organization.name=gastro", {"dose"}),
    ("Patient", "_has:Observation:subject:code=3141-9", {"marche"}),
    ("Patient", "_has:Observation:patient:code=8867-4", {"example"}),
    (
        "Patient",
        "_has:Observation:subject:_has:Condition:evidence-detail:code=39065001",
        {"example"},
    ),
    ("Organization", "_has:Patient:organization:_has:Observation:subject:code=3141-9", {"gastro"}),
]


@pytest.mark.parametrize(("resource_type", "query", "expected"), CASES)
def test_search_over_examples(
    registry: Registry,
    pool: list[dict[str, Any]],
    resource_type: str,
    query: str,
    expected: set[str],
) -> None:
    parsed, issues = parse(query, resource_type)
    assert issues == []
    assert {r["id"] for r in filter_resources(pool, parsed, registry)} == expected


def test_only_the_searched_types_are_returned(
    registry: Registry, pool: list[dict[str, Any]]
) -> None:
    parsed, _ = parse("_id=example", "Patient")
    assert [r["resourceType"] for r in filter_resources(pool, parsed, registry)] == ["Patient"]


def test_chain_needs_a_resolver(registry: Registry) -> None:
    term = parse("subject:Patient.name=peter")[0].where
    with pytest.raises(UnsupportedParameter):
        matches(load("observation-heart-rate"), term, registry)
    patient = load("patient")
    assert matches(
        load("observation-heart-rate"),
        term,
        registry,
        lambda t, i: patient if (t, i) == ("Patient", "example") else None,
    )


def test_reverse_chain_needs_referrers(registry: Registry) -> None:
    term = parse("_has:Observation:subject:code=8867-4", "Patient")[0].where
    with pytest.raises(UnsupportedParameter):
        matches(load("patient"), term, registry)
    observation = load("observation-heart-rate")
    assert matches(load("patient"), term, registry, referrers=lambda s, t, i: [observation])


def test_subscription_style_single_resource_match(registry: Registry) -> None:
    criteria = parse(f"code=http://loinc.org|8867-4&value-quantity=lt50|{UCUM}|/min")[0].where
    assert matches(load("observation-heart-rate"), criteria, registry)
    assert not matches(load("observation-blood-pressure"), criteria, registry)
