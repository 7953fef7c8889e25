"""OBR -> DiagnosticReport (v2-to-FHIR segment map OBR[DiagnosticReport])."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fhir_server.ingest.spec import JSON, IdentifierKey, MappingError, reference, upsert
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.header import MessageInfo
from mappers.hl7v2.keys import distinct
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Segment
from mappers.hl7v2.timestamps import to_datetime

REPORT_SYSTEM = "urn:fhir-server:hl7v2-report"


def order_key(obr: Segment, info: MessageInfo, options: Hl7v2Options) -> IdentifierKey | None:
    """The filler (OBR-3), else placer (OBR-2), order number of an OBR, if any."""
    for field in (3, 2):
        found = datatypes.entity_identifier(obr.first(field), options, info.default_system)
        if found is not None and "system" in found:
            return IdentifierKey(found["system"], found["value"])
    return None


def _status(obr: Segment, results: Sequence[JSON]) -> str:
    declared = tables.REPORT_STATUS.get(obr.text(25).upper())
    if declared:
        return declared
    statuses = {entry["resource"]["status"] for entry in results}
    if statuses and statuses <= {"final", "amended", "corrected"}:
        return "final"
    return "preliminary" if "preliminary" in statuses else "unknown"


def _instant(obr: Segment, info: MessageInfo) -> str | None:
    value = to_datetime(obr.text(22), obr.location(22), info.zone) if obr.text(22) else None
    return value if value and "T" in value else None


def report_entry(
    obr: Segment,
    results: Sequence[JSON],
    subject: JSON,
    patient: IdentifierKey,
    info: MessageInfo,
    options: Hl7v2Options,
    taken: set[IdentifierKey],
) -> JSON:
    """The upsert entry of the DiagnosticReport of one OBR and its result entries.

    The report is found by its order number (OBR-3, else OBR-2); without one, or when an
    earlier OBR of the message has the same, by a key made of the sender, patient, OBR-4
    and OBR-7. ``taken`` holds the report keys the message has used.

    Raises:
        MappingError: when OBR-4 (universal service identifier) is empty.
    """
    code = datatypes.codeable_concept(obr.first(4), options)
    if code is None:
        raise MappingError("OBR-4 is empty", code="required-missing", location=obr.location(4))
    section = obr.text(24).upper() or "LAB"
    key = order_key(obr, info, options)
    if key is None or key in taken:
        basis = f"{info.sender}|{patient.system}|{patient.value}|{obr.raw(4)}|{obr.text(7)}"
        key = IdentifierKey(REPORT_SYSTEM, hashlib.sha256(basis.encode()).hexdigest())
    key = distinct(key, taken, REPORT_SYSTEM)
    effective = obr.text(7)
    resource: JSON = {
        "resourceType": "DiagnosticReport",
        "status": _status(obr, results),
        "category": [{"coding": [{"system": tables.V2 + "0074", "code": section}]}],
        "code": code,  # a CodeableConcept is built compact
        "subject": subject,
    }
    if effective:
        resource["effectiveDateTime"] = to_datetime(effective, obr.location(7), info.zone)
    issued = _instant(obr, info)
    if issued:
        resource["issued"] = issued
    if results:
        resource["result"] = [reference(entry) for entry in results]
    return upsert(resource, key)
