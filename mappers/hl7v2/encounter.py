"""PV1 -> Encounter (v2-to-FHIR segment map PV1[Encounter])."""

from __future__ import annotations

import hashlib

from fhir_server.ingest.spec import JSON, IdentifierKey, compact, upsert
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.header import MessageInfo
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Segment
from mappers.hl7v2.timestamps import to_datetime

VISIT_SYSTEM = "urn:fhir-server:hl7v2-visit"
_UNKNOWN_CLASS = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
    "code": "UNK",
    "display": "unknown",
}


def _key(
    pv1: Segment, patient: IdentifierKey, info: MessageInfo, options: Hl7v2Options
) -> IdentifierKey:
    visit = datatypes.identifier(pv1.first(19), options, info.default_system)
    if visit is not None and "system" in visit:
        return IdentifierKey(visit["system"], visit["value"])
    basis = pv1.text(44) or info.key
    digest = hashlib.sha256(f"{patient.system}|{patient.value}|{basis}".encode()).hexdigest()
    return IdentifierKey(VISIT_SYSTEM, digest)


def _status(event: str, pv1: Segment) -> str:
    if event in tables.ENCOUNTER_STATUS:
        return tables.ENCOUNTER_STATUS[event]
    if pv1.text(45):
        return "finished"
    return "in-progress" if pv1.text(44) else "unknown"


def _class(pv1: Segment) -> JSON:
    known = tables.PATIENT_CLASS.get(pv1.text(2).upper())
    if known is None:
        return dict(_UNKNOWN_CLASS)
    system, code, display = known
    return {"system": system, "code": code, "display": display}


def _location(pv1: Segment) -> list[JSON]:
    pl = pv1.first(3)
    display = " ".join(p for p in (pl.get(i).strip() for i in (1, 2, 3)) if p)
    facility = pl.get(4).strip()
    if facility:
        display = f"{display} ({facility})" if display else facility
    return [{"location": {"display": display}}] if display else []


def encounter_entry(
    pv1: Segment,
    event: str,
    subject: JSON,
    patient_key: IdentifierKey,
    info: MessageInfo,
    options: Hl7v2Options,
) -> JSON:
    """The upsert entry of the Encounter a PV1 describes.

    The Encounter is found by its visit number (PV1-19), or, without one, by a key made
    of the patient and the admit time (PV1-44) or the message key. A01/A02/A03/A04/A05/
    A11/A13 set the status; an update (A08) reads it from PV1-44/PV1-45.
    """
    start, end = pv1.text(44), pv1.text(45)
    resource = compact(
        {
            "resourceType": "Encounter",
            "status": _status(event, pv1),
            "class": _class(pv1),
            "subject": subject,
            "period": {
                "start": to_datetime(start, pv1.location(44), info.zone) if start else None,
                "end": to_datetime(end, pv1.location(45), info.zone) if end else None,
            },
            "location": _location(pv1),
        }
    )
    return upsert(resource, _key(pv1, patient_key, info, options))
