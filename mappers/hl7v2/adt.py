"""ADT -> Patient and Encounter; ADT^A40 merges two Patients.

Registration events (A01 admit, A02 transfer, A03 discharge, A04 register, A05
pre-admit, A08 update, A11/A13 cancellations, A28/A31 person add/update) upsert the
Patient from PID (the feed is the source of truth for demographics) and, when a PV1 with
a patient class other than N (not applicable) is present, the Encounter.

A40 (merge patient, v2.5.1 3.3.40) upserts each surviving Patient (PID) with a
``replaces`` link, and patches the Patient named in MRG-1 with a FHIRPath Patch
(https://hl7.org/fhir/R4/fhirpatch.html): ``active`` becomes false and a ``replaced-by``
link points at the survivor. The patch is conditional on MRG-1. A prior Patient the server
has never seen follows the unknown-patient policy: under ``hold`` the transaction fails and
the message is held; under ``placeholder`` the prior Patient is created once (tagged
placeholder) and retired in the same transaction, so the merge is still recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MapContext,
    MappedMessage,
    MappingError,
    SegmentLocation,
    full_url,
    patient_subject,
    reference,
    upsert,
)
from mappers.hl7v2 import datatypes
from mappers.hl7v2.encounter import encounter_entry
from mappers.hl7v2.header import MessageInfo, parse_accepted
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.patient import patient, primary_key
from mappers.hl7v2.segments import MEDIA_TYPES, Message, Segment

REGISTRATION_EVENTS = frozenset(
    {"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A13", "A28", "A31"}
)
_PERSON_EVENTS = frozenset({"A28", "A31"})


def _registration(
    message: Message, event: str, info: MessageInfo, options: Hl7v2Options
) -> Iterator[JSON]:
    record = patient(message.require("PID"), info, options)
    patient_entry = upsert(record.resource, record.key)
    yield patient_entry
    pv1 = message.find("PV1")
    if pv1 is None or event in _PERSON_EVENTS or pv1.text(2).upper() in ("", "N"):
        return
    yield encounter_entry(pv1, event, reference(patient_entry), record.key, info, options)


def _prior_key(mrg: Segment, info: MessageInfo, options: Hl7v2Options) -> IdentifierKey:
    found = [datatypes.identifier(cx, options, info.default_system) for cx in mrg.repetitions(1)]
    try:
        return primary_key([i for i in found if i is not None], mrg)
    except MappingError as exc:
        raise MappingError(
            "MRG-1 gives no usable prior patient identifier",
            code="required-missing",
            location=mrg.location(1),
        ) from exc


def _operation(*parts: JSON) -> JSON:
    return {"name": "operation", "part": list(parts)}


def _retire(prior: IdentifierKey, survivor: JSON) -> JSON:
    """The conditional FHIRPath Patch marking ``prior`` replaced by ``survivor``."""
    link = [
        {"name": "other", "valueReference": reference(survivor)},
        {"name": "type", "valueCode": "replaced-by"},
    ]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            _operation(
                {"name": "type", "valueCode": "delete"},
                {"name": "path", "valueString": "Patient.active"},
            ),
            _operation(
                {"name": "type", "valueCode": "add"},
                {"name": "path", "valueString": "Patient"},
                {"name": "name", "valueString": "active"},
                {"name": "value", "valueBoolean": False},
            ),
            _operation(
                {"name": "type", "valueCode": "add"},
                {"name": "path", "valueString": "Patient"},
                {"name": "name", "valueString": "link"},
                {"name": "value", "part": link},
            ),
        ],
    }
    return {
        "fullUrl": full_url("Patient/$merge", prior),
        "resource": parameters,
        "request": {"method": "PATCH", "url": f"Patient?{prior.search()}"},
    }


def _merge(
    message: Message, info: MessageInfo, options: Hl7v2Options, ctx: MapContext
) -> Iterator[JSON]:
    current: Segment | None = None
    merged = False
    for segment in message.segments:
        if segment.name == "PID":
            current = segment
        elif segment.name == "MRG" and current is not None:
            record = patient(current, info, options)
            prior = _prior_key(segment, info, options)
            if prior == record.key:
                raise MappingError(
                    "MRG-1 names the surviving patient itself",
                    code="invalid-value",
                    location=segment.location(1),
                )
            prior_reference, placeholder = patient_subject(prior, ctx)
            yield from placeholder
            link = {"other": prior_reference, "type": "replaces"}
            survivor = upsert({**record.resource, "link": [link]}, record.key)
            yield survivor
            yield _retire(prior, survivor)
            merged = True
    if not merged:
        raise MappingError(
            "ADT^A40 needs a PID followed by an MRG",
            code="required-missing",
            location=SegmentLocation("MRG"),
        )


class AdtMapper:
    """HL7 v2 ADT messages to Patient and Encounter."""

    name: ClassVar[str] = "hl7v2-adt"
    media_types: ClassVar[frozenset[str]] = MEDIA_TYPES
    message_types: ClassVar[frozenset[str]] = frozenset(
        f"ADT^{event}" for event in (*REGISTRATION_EVENTS, "A40")
    )

    def __init__(self, options: Hl7v2Options | None = None) -> None:
        self._options = options or Hl7v2Options()

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Map one ADT message; see the module docstring for what each event yields."""
        message, info = parse_accepted(
            payload, ctx, self._options, self.message_types, "not an ADT event this mapper handles"
        )
        event = message.message_type.partition("^")[2]
        if event == "A40":
            entries = _merge(message, info, self._options, ctx)
        else:
            entries = _registration(message, event, info, self._options)
        return MappedMessage.build(info.key, entries)
