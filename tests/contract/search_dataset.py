"""A fixed data set for the cross-backend search suites, loaded with chosen lastUpdated.

Every resource gets ``meta.lastUpdated`` = 2024-05-01T00:00Z plus its position in hours, so
``_lastUpdated`` ranges are predictable and the creation order is the list order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from fhir_server.core.meta import stamp
from fhir_server.core.ports import ResourceStore, VersionWrite
from fhir_server.search.engine import RegistrySearchEngine

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
START = datetime(2024, 5, 1, tzinfo=UTC)
NOW = datetime(2024, 3, 1, tzinfo=UTC)
"""The instant ``ap`` dates are approximated against in the table."""


def _code(code: str, display: str, system: str | None = LOINC) -> dict[str, Any]:
    coding: dict[str, Any] = {"code": code, "display": display}
    if system is not None:
        coding["system"] = system
    return {"coding": [coding]}


def _qty(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def _obs(id: str, code: dict[str, Any], subject: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": extra.pop("status", "final"),
        "code": code,
        "subject": subject,
        **extra,
    }


def _bp(id: str, patient: str, systolic: float, diastolic: float, **extra: Any) -> dict[str, Any]:
    components = [
        {
            "code": _code("8480-6", "Systolic blood pressure"),
            "valueQuantity": _qty(systolic, "mm[Hg]"),
        },
        {
            "code": _code("8462-4", "Diastolic blood pressure"),
            "valueQuantity": _qty(diastolic, "mm[Hg]"),
        },
    ]
    code = _code("85354-9", "Blood pressure panel")
    return _obs(id, code, {"reference": f"Patient/{patient}"}, component=components, **extra)


HEART = _code("8867-4", "Heart rate")
GLUCOSE = _code("2339-0", "Glucose")

RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Organization", "id": "org-2", "name": "Regional Health Network"},
    {
        "resourceType": "Organization",
        "id": "org-1",
        "name": "Acme Hospital",
        "identifier": [{"system": "urn:org", "value": "A1"}],
        "partOf": {"reference": "Organization/org-2"},
    },
    {
        "resourceType": "Practitioner",
        "id": "doc-1",
        "name": [{"family": "House", "given": ["Greg"]}],
        "identifier": [{"system": "urn:npi", "value": "999"}],
    },
    {
        "resourceType": "Patient",
        "id": "pat-ann",
        "meta": {
            "tag": [{"system": "urn:tags", "code": "vip"}],
            "profile": ["http://example.org/StructureDefinition/special-patient"],
            "security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
            ],
            "source": "urn:source:ehr-a",
        },
        "identifier": [
            {
                "type": {"coding": [{"system": V2_0203, "code": "MR"}]},
                "system": "urn:mrn",
                "value": "111",
            }
        ],
        "active": True,
        "name": [{"family": "Müller", "given": ["Ann"]}],
        "gender": "female",
        "birthDate": "1970-03-15",
        "generalPractitioner": [{"reference": "Practitioner/doc-1"}],
        "managingOrganization": {"reference": "Organization/org-1"},
    },
    {
        "resourceType": "Patient",
        "id": "pat-bob",
        "identifier": [{"system": "urn:mrn", "value": "222"}],
        "active": False,
        "name": [{"family": "Smith", "given": ["Bob"]}],
        "gender": "male",
        "birthDate": "1985",
        "address": [{"city": "Zürich"}],
    },
    {
        "resourceType": "Patient",
        "id": "pat-zoe",
        "identifier": [{"system": "http://other.org/ids", "value": "111"}],
        "name": [{"family": "Smithson", "given": ["Zoë"]}],
        "gender": "female",
        "managingOrganization": {"reference": "Organization/org-2"},
    },
    {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/pat-ann"},
        "period": {"start": "2024-01-01T08:00:00Z", "end": "2024-01-01T12:00:00Z"},
    },
    {
        "resourceType": "Encounter",
        "id": "enc-2",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "Patient/pat-bob"},
        "period": {"start": "2024-01-05"},
    },
    _obs(
        "obs-hr1",
        {**HEART, "text": "Heart rate"},
        {"reference": "Patient/pat-ann"},
        effectiveDateTime="2024-01-01T10:00:00Z",
        valueQuantity=_qty(72, "/min"),
        performer=[{"reference": "Practitioner/doc-1"}],
        encounter={"reference": "Encounter/enc-1"},
    ),
    _obs(
        "obs-hr2",
        HEART,
        {"reference": "Patient/pat-bob"},
        status="preliminary",
        effectiveDateTime="2024-01-02",
        valueQuantity=_qty(120, "/min"),
    ),
    _obs(
        "obs-old",
        HEART,
        {"reference": "Patient/pat-zoe"},
        effectiveDateTime="2023-06",
        valueQuantity=_qty(65, "/min"),
    ),
    _bp(
        "obs-bp",
        "pat-ann",
        140,
        90,
        effectivePeriod={"start": "2024-01-01T09:00:00Z", "end": "2024-01-01T11:00:00Z"},
    ),
    _bp("obs-bp2", "pat-bob", 110, 70, effectiveInstant="2024-02-01T08:30:00.123Z"),
    _obs(
        "obs-glu",
        GLUCOSE,
        {"reference": "http://other.org/fhir/Patient/ext-1"},
        effectiveDateTime="2023-12-31T23:30:00-05:00",
        valueQuantity=_qty(150, "mg"),
    ),
    _obs("obs-glu2", GLUCOSE, {"reference": "Patient/pat-zoe"}, valueQuantity=_qty(0.05, "g")),
    _obs(
        "obs-note",
        {**_code("weight-note", "Weight note", None), "text": "Free text about weight"},
        {"identifier": {"system": "urn:mrn", "value": "333"}},
        status="amended",
        valueString="Weight stable",
    ),
    {
        "resourceType": "RiskAssessment",
        "id": "ra-1",
        "status": "final",
        "subject": {"reference": "Patient/pat-ann"},
        "prediction": [{"probabilityDecimal": 0.8}],
    },
    {
        "resourceType": "RiskAssessment",
        "id": "ra-2",
        "status": "final",
        "subject": {"reference": "Patient/pat-bob"},
        "prediction": [{"probabilityDecimal": 0.25}],
    },
    {
        "resourceType": "RiskAssessment",
        "id": "ra-3",
        "status": "final",
        "subject": {"reference": "Patient/pat-zoe"},
    },
    {
        "resourceType": "ValueSet",
        "id": "vs-1",
        "status": "active",
        "url": "http://example.org/fhir/ValueSet/vitals",
    },
    {
        "resourceType": "ValueSet",
        "id": "vs-2",
        "status": "active",
        "url": "http://example.org/fhir/ValueSet/vitals/sub",
    },
    {
        "resourceType": "ValueSet",
        "id": "vs-3",
        "status": "active",
        "url": "http://acme.org/ValueSet/other",
    },
    {"resourceType": "ValueSet", "id": "vs-4", "status": "draft"},
]


def last_updated(position: int) -> datetime:
    """The lastUpdated of the resource at ``position`` in RESOURCES."""
    return START + timedelta(hours=position)


def load(store: ResourceStore, engine: RegistrySearchEngine) -> list[dict[str, Any]]:
    """Write RESOURCES as version 1 each; the stored bodies (meta set), in order."""
    stored: list[dict[str, Any]] = []
    for position, resource in enumerate(RESOURCES):
        instant = last_updated(position)
        content = stamp(resource, resource["id"], 1, instant)
        write = VersionWrite(
            resource["resourceType"],
            resource["id"],
            1,
            instant,
            "PUT",
            content,
            0,
            engine.extract(resource),
        )
        store.write([write])
        stored.append(orjson.loads(content))
    return stored
