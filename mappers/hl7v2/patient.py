"""PID -> Patient (v2-to-FHIR segment map PID[Patient])."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.ingest.spec import JSON, IdentifierKey, MappingError, compact
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.header import MessageInfo
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Segment
from mappers.hl7v2.timestamps import to_date, to_datetime


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A Patient and the identifier that finds it.

    Attributes:
        key: the primary identifier: the first PID-3 of type MR, else the first.
        resource: the Patient.
    """

    key: IdentifierKey
    resource: JSON


def identifiers(pid: Segment, info: MessageInfo, options: Hl7v2Options) -> list[JSON]:
    """PID-3 (or, in old feeds that leave it empty, PID-2) as Identifiers."""
    reps = pid.repetitions(3) or pid.repetitions(2)
    found = (datatypes.identifier(cx, options, info.default_system) for cx in reps)
    return [i for i in found if i is not None]


def primary_key(found: list[JSON], pid: Segment) -> IdentifierKey:
    """The identifier a Patient is found by; a MappingError when there is none."""
    if not found:
        raise MappingError(
            "PID-3 gives no patient identifier", code="required-missing", location=pid.location(3)
        )
    mrn = [i for i in found if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR"]
    chosen = (mrn or found)[0]
    if "system" not in chosen:
        raise MappingError(
            "PID-3 identifier names no assigning authority or facility and MSH-3/MSH-4 no sender",
            code="required-missing",
            location=pid.location(3, 4),
        )
    return IdentifierKey(chosen["system"], chosen["value"])


def _deceased(pid: Segment, info: MessageInfo) -> JSON:
    when = pid.text(29)
    if when:
        return {"deceasedDateTime": to_datetime(when, pid.location(29), info.zone)}
    flag = pid.text(30).upper()
    return {"deceasedBoolean": flag == "Y"} if flag in ("Y", "N") else {}


def patient(pid: Segment, info: MessageInfo, options: Hl7v2Options) -> PatientRecord:
    """The Patient a PID describes.

    Raises:
        MappingError: when PID gives no usable identifier or a malformed date.
    """
    found = identifiers(pid, info, options)
    key = primary_key(found, pid)
    sex = pid.text(8).upper()
    birth = pid.text(7)
    telecom = [datatypes.contact_point(x, "home") for x in pid.repetitions(13)]
    telecom += [datatypes.contact_point(x, "work") for x in pid.repetitions(14)]
    resource: JSON = compact(
        {
            "resourceType": "Patient",
            "identifier": found,
            "active": True,
            "name": [datatypes.human_name(x) for x in pid.repetitions(5)],
            "telecom": telecom,
            "gender": tables.ADMINISTRATIVE_SEX.get(sex, "unknown") if sex else None,
            "birthDate": to_date(birth, pid.location(7)) if birth else None,
            "address": [datatypes.address(x) for x in pid.repetitions(11)],
            **_deceased(pid, info),
        }
    )
    return PatientRecord(key, resource)
