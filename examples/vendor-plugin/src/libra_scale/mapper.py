"""Libra smart-scale readings -> Device, Patient reference and Observations.

Libra scales post one JSON document per weighing::

    {"scaleId": "LS-0042F1", "firmware": "2.1.0", "userMrn": "PATID1234",
     "weighedAt": "2024-03-22T07:12:00+01:00", "weightKg": 81.4, "bmi": 24.9}

This module imports nothing of the server but ``fhir_server.ingest.spec``, the public
plugin API, which is the contract: the server may change anything else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MapContext,
    MappedMessage,
    MappingError,
    compact,
    create_once,
    patient_subject,
    reading_key,
    reference,
)

SCALE_SYSTEM = "urn:libra:scale-id"
PATIENT_SYSTEM = "urn:oid:1.2.840.114350.1.13.99998.8734"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
WEIGHT = ("29463-7", "Body weight")
BMI = ("39156-5", "Body mass index (BMI) [Ratio]")
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}


def _field(document: dict[str, Any], name: str) -> Any:
    value = document.get(name)
    if value is None or value == "":
        raise MappingError(f"{name} is missing", code="required-missing", location=name)
    return value


def _reading(
    scale: IdentifierKey, when: str, subject: JSON, device: JSON, code: tuple[str, str], value: JSON
) -> JSON:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}]},
        "subject": subject,
        "effectiveDateTime": when,
        "valueQuantity": value,
        "device": reference(device),
    }
    return create_once(observation, reading_key(scale.system, scale.value, LOINC, code[0], when))


class LibraScaleMapper:
    """Libra smart-scale JSON to body weight (29463-7) and BMI (39156-5)."""

    name: ClassVar[str] = "libra-scale"
    media_types: ClassVar[frozenset[str]] = frozenset({"application/json"})
    message_types: ClassVar[frozenset[str]] = frozenset()

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Map one weighing; raise MappingError for anything that is not one."""
        try:
            document = json.loads(payload)
        except ValueError as exc:
            raise MappingError(f"not JSON: {exc}", code="malformed") from exc
        if not isinstance(document, dict):
            raise MappingError("a Libra weighing is a JSON object", code="malformed")
        try:
            when = datetime.fromisoformat(str(_field(document, "weighedAt"))).isoformat()
            weight = float(_field(document, "weightKg"))
        except ValueError as exc:
            raise MappingError(f"not a Libra weighing: {exc}", code="invalid-value") from exc
        scale = IdentifierKey(SCALE_SYSTEM, str(_field(document, "scaleId")))
        patient = IdentifierKey(PATIENT_SYSTEM, str(_field(document, "userMrn")))
        subject, placeholder = patient_subject(patient, ctx)
        device = create_once(
            compact({"resourceType": "Device", "manufacturer": "Libra", "patient": subject}), scale
        )
        entries = [*placeholder, device]
        kg = {"value": weight, "unit": "kg", "system": UCUM, "code": "kg"}
        entries.append(_reading(scale, when, subject, device, WEIGHT, kg))
        if document.get("bmi") is not None:
            bmi = {
                "value": float(document["bmi"]),
                "unit": "kg/m2",
                "system": UCUM,
                "code": "kg/m2",
            }
            entries.append(_reading(scale, when, subject, device, BMI, bmi))
        return MappedMessage.build(f"libra|{scale.value}|{when}", entries)
