"""Synthea-shaped patient records: the transaction Bundles a record generator uploads.

The shapes follow what Synthea writes for FHIR R4: a provider Bundle of Organization,
Practitioner and Location created with ``ifNoneExist``, then one transaction per patient
whose entries use ``urn:uuid:`` full URLs and reach the providers through conditional
references (``Practitioner?identifier=...``), with contained resources and ``#`` references.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

Resource = dict[str, Any]
SYNTHEA = "https://github.com/synthetichealth/synthea"
NPI = "http://hl7.org/fhir/sid/us-npi"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class Provider:
    """The organisation, practitioner and location every generated encounter points at."""

    org_key: str = "ef58ea08-d883-3957-8300-150554edc8fb"
    npi: str = "9999941599"
    location_key: str = "b0e04623-b02c-3f8b-92ea-943fc4db60da"

    @property
    def practitioner_ref(self) -> str:
        """The conditional reference to the practitioner."""
        return f"Practitioner?identifier={NPI}|{self.npi}"

    @property
    def organization_ref(self) -> str:
        """The conditional reference to the organisation."""
        return f"Organization?identifier={SYNTHEA}|{self.org_key}"

    @property
    def location_ref(self) -> str:
        """The conditional reference to the location."""
        return f"Location?identifier={SYNTHEA}|{self.location_key}"

    def bundle(self) -> Resource:
        """The provider transaction (idempotent through ``ifNoneExist``)."""
        org = {
            "resourceType": "Organization",
            "identifier": [{"system": SYNTHEA, "value": self.org_key}],
            "active": True,
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                            "code": "prov",
                            "display": "Healthcare Provider",
                        }
                    ]
                }
            ],
            "name": "HALLMARK HEALTH SYSTEM",
            "address": [{"line": ["585 LEBANON STREET"], "city": "MELROSE", "state": "MA"}],
        }
        practitioner = {
            "resourceType": "Practitioner",
            "identifier": [{"system": NPI, "value": self.npi}],
            "active": True,
            "name": [{"family": "Mayer370", "given": ["Esmeralda"], "prefix": ["Dr."]}],
            "gender": "female",
        }
        location = {
            "resourceType": "Location",
            "identifier": [{"system": SYNTHEA, "value": self.location_key}],
            "status": "active",
            "name": "HALLMARK HEALTH SYSTEM",
            "position": {"longitude": -71.06, "latitude": 42.45},
            "managingOrganization": {"reference": self.organization_ref},
        }
        conditions = [
            f"identifier={SYNTHEA}|{self.org_key}",
            f"identifier={NPI}|{self.npi}",
            f"identifier={SYNTHEA}|{self.location_key}",
        ]
        return _transaction(
            [
                _entry(resource, ifNoneExist=condition)
                for resource, condition in zip(
                    (org, practitioner, location), conditions, strict=True
                )
            ]
        )


@dataclass(slots=True)
class PatientRecord:
    """One generated patient: the Bundle to upload and what a search should find."""

    mrn: str
    family: str
    bundle: Resource
    counts: dict[str, int] = field(default_factory=dict)


def patient_record(rng: random.Random, provider: Provider, encounters: int = 3) -> PatientRecord:
    """A patient transaction with encounters, conditions, vital signs and a claim each."""
    mrn = str(uuid.UUID(int=rng.getrandbits(128)))
    family = f"Ratke{rng.randint(100, 999)}"
    patient_url = f"urn:uuid:{mrn}"
    entries = [_entry(_patient(mrn, family, rng), fullUrl=patient_url)]
    counts = {"Patient": 1}
    for index in range(encounters):
        start = f"20{10 + index:02d}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T13:15:51-04:00"
        encounter_url = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}"
        entries.append(_entry(_encounter(patient_url, provider, start), fullUrl=encounter_url))
        entries.append(_entry(_condition(patient_url, encounter_url, start)))
        entries.append(_entry(_blood_pressure(patient_url, encounter_url, start, rng)))
        entries.append(_entry(_heart_rate(patient_url, encounter_url, start, rng)))
        entries.append(_entry(_claim(patient_url, provider, start)))
        for kind, n in (("Encounter", 1), ("Condition", 1), ("Observation", 2)):
            counts[kind] = counts.get(kind, 0) + n
        counts["ExplanationOfBenefit"] = counts.get("ExplanationOfBenefit", 0) + 1
    entries.append(_entry(_provenance(patient_url, provider)))
    counts["Provenance"] = 1
    return PatientRecord(mrn, family, _transaction(entries), counts)


def _transaction(entries: list[Resource]) -> Resource:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _entry(
    resource: Resource, fullUrl: str | None = None, ifNoneExist: str | None = None
) -> Resource:
    request: Resource = {"method": "POST", "url": resource["resourceType"]}
    if ifNoneExist:
        request["ifNoneExist"] = ifNoneExist
    full_url = fullUrl or f"urn:uuid:{uuid.uuid4()}"
    return {"fullUrl": full_url, "resource": resource, "request": request}


def _patient(mrn: str, family: str, rng: random.Random) -> Resource:
    return {
        "resourceType": "Patient",
        "id": mrn,
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Generated by Synthea</div>',
        },
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {
                            "system": "urn:oid:2.16.840.1.113883.6.238",
                            "code": "2106-3",
                            "display": "White",
                        },
                    },
                    {"url": "text", "valueString": "White"},
                ],
            },
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                "valueCode": "M",
            },
            {
                "url": "http://synthetichealth.github.io/synthea/quality-adjusted-life-years",
                "valueDecimal": 49.0,
            },
        ],
        "identifier": [
            {"system": SYNTHEA, "value": mrn},
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical Record Number",
                        }
                    ],
                    "text": "Medical Record Number",
                },
                "system": "http://hospital.smarthealthit.org",
                "value": mrn,
            },
        ],
        "name": [{"use": "official", "family": family, "given": ["Abraham100"], "prefix": ["Mr."]}],
        "telecom": [{"system": "phone", "value": "555-726-1796", "use": "home"}],
        "gender": rng.choice(["male", "female"]),
        "birthDate": f"19{rng.randint(40, 99)}-05-04",
        "address": [
            {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                        "extension": [
                            {"url": "latitude", "valueDecimal": 42.3},
                            {"url": "longitude", "valueDecimal": -71.0},
                        ],
                    }
                ],
                "line": ["1068 Nienow Rapid"],
                "city": "Quincy",
                "state": "Massachusetts",
                "country": "US",
            }
        ],
        "multipleBirthBoolean": False,
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}
        ],
    }


def _encounter(patient: str, provider: Provider, start: str) -> Resource:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": SNOMED, "code": "410620009"}], "text": "Well child visit"}],
        "subject": {"reference": patient},
        "participant": [{"individual": {"reference": provider.practitioner_ref}}],
        "period": {"start": start, "end": start},
        "location": [{"location": {"reference": provider.location_ref}}],
        "serviceProvider": {"reference": provider.organization_ref},
    }


def _condition(patient: str, encounter: str, start: str) -> Resource:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": "444814009"}], "text": "Viral sinusitis"},
        "subject": {"reference": patient},
        "encounter": {"reference": encounter},
        "onsetDateTime": start,
    }


def _vital(patient: str, encounter: str, start: str, code: str) -> Resource:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": patient},
        "encounter": {"reference": encounter},
        "effectiveDateTime": start,
        "issued": start.replace("T13:15:51", "T13:15:51.432"),
    }


def _blood_pressure(patient: str, encounter: str, start: str, rng: random.Random) -> Resource:
    resource = _vital(patient, encounter, start, "85354-9")
    resource["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }
        for code, value in (("8480-6", rng.randint(100, 160)), ("8462-4", rng.randint(60, 95)))
    ]
    return resource


def _heart_rate(patient: str, encounter: str, start: str, rng: random.Random) -> Resource:
    resource = _vital(patient, encounter, start, "8867-4")
    resource["valueQuantity"] = {
        "value": rng.randint(50, 120),
        "unit": "/min",
        "system": UCUM,
        "code": "/min",
    }
    return resource


def _claim(patient: str, provider: Provider, start: str) -> Resource:
    return {
        "resourceType": "ExplanationOfBenefit",
        "contained": [
            {
                "resourceType": "Coverage",
                "id": "coverage",
                "status": "active",
                "type": {"text": "Medicaid"},
                "beneficiary": {"reference": patient},
                "payor": [{"display": "Medicaid"}],
            }
        ],
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": patient},
        "billablePeriod": {"start": start, "end": start},
        "created": start,
        "insurer": {"display": "Medicaid"},
        "provider": {"reference": provider.practitioner_ref},
        "outcome": "complete",
        "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
        "payment": {"amount": {"value": 0.0, "currency": "USD"}},
    }


def _provenance(patient: str, provider: Provider) -> Resource:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": patient}],
        "recorded": "2020-05-04T13:15:51.432-04:00",
        "agent": [
            {
                "who": {"reference": provider.practitioner_ref},
                "onBehalfOf": {"reference": provider.organization_ref},
            }
        ],
    }
