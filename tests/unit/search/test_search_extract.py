"""Index extraction per parameter type and FHIR data type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from search_support import load

from conformance.definitions import search_parameter_bundle
from fhir_server.search._dates import MAX_EPOCH, MIN_EPOCH
from fhir_server.search.extract import extract
from fhir_server.search.index import (
    CompositeEntry,
    DateEntry,
    IndexEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.registry import Registry

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> float:
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=UTC).timestamp()


def entries(resource: dict[str, Any], registry: Registry, param: str) -> list[IndexEntry]:
    return [e for e in extract(resource, registry) if e.param == param]


def test_tokens_of_coding_concept_identifier_contact_code_and_boolean(registry: Registry) -> None:
    patient = load("patient")
    assert entries(patient, registry, "identifier") == [
        TokenEntry("identifier", "urn:oid:1.2.36.146.595.217.0.1", "12345", "medical record number")
    ]
    assert entries(patient, registry, "identifier:of-type") == [
        TokenEntry(
            "identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203", "MR|12345"
        )
    ]
    assert TokenEntry("email", "email", "peter.chalmers@example.org") in extract(patient, registry)
    assert TokenEntry("phone", "phone", "(03) 5555 6473") in extract(patient, registry)
    assert entries(patient, registry, "gender") == [TokenEntry("gender", "", "male")]
    assert entries(patient, registry, "active") == [TokenEntry("active", "", "true")]
    assert entries(patient, registry, "deceased") == [TokenEntry("deceased", "", "false")]
    assert entries(patient, registry, "_security") == [
        TokenEntry("_security", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N")
    ]


def test_codeable_concept_text_gets_a_text_only_token(registry: Registry) -> None:
    observation = load("observation-blood-pressure")
    assert entries(observation, registry, "code") == [
        TokenEntry("code", LOINC, "85354-9", "blood pressure panel with all children optional"),
        TokenEntry("code", "", "", "blood pressure systolic & diastolic"),
    ]
    heart_rate = load("observation-heart-rate")  # text equals the display: no extra entry
    assert entries(heart_rate, registry, "code") == [
        TokenEntry("code", LOINC, "8867-4", "heart rate")
    ]


def test_strings_of_human_name_and_address_are_normalized(registry: Registry) -> None:
    patient = load("patient")
    names = entries(patient, registry, "name")
    assert StringEntry("name", "chalmers", "Chalmers") in names
    assert StringEntry("name", "jim", "Jim") in names
    assert StringEntry("name", "windsor", "Windsor") in names
    assert entries(patient, registry, "address-city") == [
        StringEntry("address-city", "pleasantville", "PleasantVille")
    ]
    address = {e.exact for e in entries(patient, registry, "address") if isinstance(e, StringEntry)}
    assert address >= {"534 Erewhon St", "PleasantVille", "Rainbow", "Vic", "3999"}
    accented = {"resourceType": "Patient", "name": [{"family": "Müller-Lüdenscheidt"}]}
    assert entries(accented, registry, "family") == [
        StringEntry("family", "muller-ludenscheidt", "Müller-Lüdenscheidt")
    ]


@pytest.mark.parametrize(
    ("birth_date", "low", "high"),
    [
        ("1974", at(1974, 1, 1), at(1975, 1, 1)),
        ("1974-12", at(1974, 12, 1), at(1975, 1, 1)),
        ("1974-12-25", at(1974, 12, 25), at(1974, 12, 26)),
    ],
)
def test_partial_dates_become_ranges(
    registry: Registry, birth_date: str, low: float, high: float
) -> None:
    patient = {"resourceType": "Patient", "birthDate": birth_date}
    assert entries(patient, registry, "birthdate") == [DateEntry("birthdate", low, high)]


def test_date_time_period_timing_and_instant(registry: Registry) -> None:
    observation = load("observation-blood-pressure")
    start, end = at(2012, 9, 17), at(2012, 9, 17, 8, 30, 1)
    assert entries(observation, registry, "date") == [DateEntry("date", start, end)]
    glucose = load("observation-glucose")  # open-ended Period
    assert entries(glucose, registry, "date") == [
        DateEntry("date", at(2013, 4, 2, 8, 30, 10), MAX_EPOCH)
    ]
    no_tz = {"resourceType": "Observation", "effectiveDateTime": "2024-03-05T10:00:00"}
    assert entries(no_tz, registry, "date") == [
        DateEntry("date", at(2024, 3, 5, 10), at(2024, 3, 5, 10, 0, 1))
    ]
    last_updated = entries(load("observation-heart-rate"), registry, "_lastUpdated")
    assert last_updated == [
        DateEntry(
            "_lastUpdated", at(2024, 5, 1, 9, 30, 10, 123000), at(2024, 5, 1, 9, 30, 10, 124000)
        )
    ]
    only_end = {"resourceType": "Encounter", "period": {"end": "2015"}}
    assert entries(only_end, registry, "date") == [DateEntry("date", MIN_EPOCH, at(2016, 1, 1))]


def test_timing_events_and_bounds(registry: Registry) -> None:
    procedure = {
        "resourceType": "CarePlan",
        "activity": [
            {
                "detail": {
                    "scheduledTiming": {
                        "event": ["2015-01-15T08:00:00Z"],
                        "repeat": {"boundsPeriod": {"start": "2015-01-15", "end": "2015-01-22"}},
                    }
                }
            }
        ],
    }
    assert entries(procedure, registry, "activity-date") == [
        DateEntry("activity-date", at(2015, 1, 15, 8), at(2015, 1, 15, 8, 0, 1)),
        DateEntry("activity-date", at(2015, 1, 15), at(2015, 1, 23)),
    ]


def test_number_has_its_precision_range(registry: Registry) -> None:
    risk = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.02}]}
    assert entries(risk, registry, "probability") == [
        NumberEntry("probability", 0.02, 0.015, 0.025)
    ]


def test_quantity_has_canonical_ucum_value(registry: Registry) -> None:
    observation = {
        "resourceType": "Observation",
        "valueQuantity": {"value": 150, "unit": "mg", "system": UCUM, "code": "mg"},
    }
    (entry,) = entries(observation, registry, "value-quantity")
    assert isinstance(entry, QuantityEntry)
    assert (entry.value, entry.low, entry.high) == (150.0, 149.5, 150.5)
    assert (entry.system, entry.code, entry.canonical_code) == (UCUM, "mg", "g")
    assert entry.canonical_value == pytest.approx(0.15)


def test_quantity_outside_ucum_keeps_its_unit(registry: Registry) -> None:
    observation = {"resourceType": "Observation", "valueQuantity": {"value": 5, "unit": "pills"}}
    assert entries(observation, registry, "value-quantity") == [
        QuantityEntry("value-quantity", 5.0, 4.5, 5.5, "", "pills")
    ]


def test_references(registry: Registry) -> None:
    glucose = load("observation-glucose")
    assert entries(glucose, registry, "subject") == [
        ReferenceEntry("subject", "Patient", "f001", "http://example.org/fhir/Patient/f001")
    ]
    blood_pressure = load("observation-blood-pressure")
    assert entries(blood_pressure, registry, "based-on") == []
    assert entries(blood_pressure, registry, "based-on:identifier") == [
        TokenEntry("based-on:identifier", "https://acme.org/identifiers", "1234")
    ]
    request = load("medication-request")
    assert entries(request, registry, "intended-performer") == []  # "#med0310" is contained
    versioned = "http://example.org/fhir/Questionnaire/phq-9|1.0"
    history = {"resourceType": "Observation", "subject": {"reference": "Patient/1/_history/2"}}
    assert entries(history, registry, "subject") == [ReferenceEntry("subject", "Patient", "1")]
    questionnaire = {"resourceType": "QuestionnaireResponse", "questionnaire": versioned}
    assert entries(questionnaire, registry, "questionnaire") == [
        ReferenceEntry("questionnaire", "Questionnaire", "phq-9", versioned),
        ReferenceEntry(
            "questionnaire", "Questionnaire", "phq-9", "http://example.org/fhir/Questionnaire/phq-9"
        ),
    ]


def test_patient_parameter_keeps_only_patient_subjects(registry: Registry) -> None:
    group = {"resourceType": "Observation", "subject": {"reference": "Group/g1"}}
    assert entries(group, registry, "patient") == []
    assert entries(load("observation-heart-rate"), registry, "patient") == [
        ReferenceEntry("patient", "Patient", "example")
    ]


def test_uri(registry: Registry) -> None:
    device = load("device")
    assert entries(device, registry, "url") == [
        UriEntry("url", "http://acme.org/devices/monitor-7")
    ]
    assert entries(load("observation-heart-rate"), registry, "_profile") == [
        UriEntry("_profile", "http://hl7.org/fhir/StructureDefinition/vitalsigns")
    ]


def test_composite_components_come_from_the_same_element(registry: Registry) -> None:
    composites = entries(
        load("observation-blood-pressure"), registry, "component-code-value-quantity"
    )
    pairs = {
        (c.components[0].code, c.components[1].value)  # type: ignore[union-attr]
        for c in composites
        if isinstance(c, CompositeEntry)
    }
    assert pairs == {("8480-6", 107.0), ("271649006", 107.0), ("8462-4", 60.5)}
    first = composites[0]
    assert isinstance(first, CompositeEntry)
    assert [c.param for c in first.components] == ["component-code", "component-value-quantity"]


def test_extraction_leaves_the_resource_alone_and_has_no_duplicates(registry: Registry) -> None:
    observation = load("observation-blood-pressure")
    before = repr(observation)
    found = extract(observation, registry)
    assert repr(observation) == before
    assert len(found) == len(set(found))


def test_disabled_parameters_are_not_indexed() -> None:
    lean = Registry.from_bundle(
        search_parameter_bundle(), disabled={"combo-code", "Observation.date"}
    )
    params = {e.param for e in extract(load("observation-heart-rate"), lean)}
    assert "combo-code" not in params
    assert "date" not in params
    assert "code" in params
