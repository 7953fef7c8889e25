"""ORU^R01 -> Observations (and a DiagnosticReport per OBR for lab results).

An IHE PCD-01 message (MSH-21 names the profile, or OBX-3 codes are MDC) goes to
``pcd01``. Anything else is a lab result: one Observation per OBX, upserted by a
deterministic identifier (sender, order number, patient, OBX-3 code, OBX-4 sub-id)
because a result legitimately moves from preliminary to final to corrected; one
DiagnosticReport per OBR referencing its Observations. Keys a message repeats are made
distinct (``keys``). An OBX with neither OBX-3 nor a value carries nothing and is skipped.
The Patient is referenced according to the unknown-patient policy, with the PID as the
placeholder's content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MapContext,
    MappedMessage,
    MappingError,
    SegmentLocation,
    patient_subject,
    upsert,
)
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.groups import ObservationGroup, OrderGroup, PatientGroup, result_groups
from mappers.hl7v2.header import MessageInfo, is_pcd01, parse_accepted
from mappers.hl7v2.keys import distinct
from mappers.hl7v2.observation import is_blank, observation
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.patient import patient
from mappers.hl7v2.pcd01 import pcd01_entries
from mappers.hl7v2.report import order_key, report_entry
from mappers.hl7v2.segments import MEDIA_TYPES, Message, Segment

RESULT_SYSTEM = "urn:fhir-server:hl7v2-result"


def _order_id(order: OrderGroup, info: MessageInfo, options: Hl7v2Options) -> str:
    """The order part of a result key: the OBR's order number, else its OBR-7."""
    placed = order_key(order.obr, info, options) if order.obr is not None else None
    return f"{placed.system}|{placed.value}" if placed else (order.obr.text(7) if order.obr else "")


def _result_key(
    obx: Segment,
    order_id: str,
    patient_key: IdentifierKey,
    info: MessageInfo,
    options: Hl7v2Options,
) -> IdentifierKey:
    instance = datatypes.entity_identifier(obx.first(21), options, info.default_system)
    if instance is not None and "system" in instance:
        return IdentifierKey(instance["system"], instance["value"])
    first = 1 if obx.text(3, 1) else 4  # the alternate coding when the primary is empty
    code = f"{obx.text(3, first + 2)}|{obx.text(3, first)}"
    parts = (info.sender, order_id, patient_key.system, patient_key.value, code, obx.text(4))
    return IdentifierKey(RESULT_SYSTEM, hashlib.sha256("\x1f".join(parts).encode()).hexdigest())


def _category(resource: JSON) -> JSON:
    codes = {c.get("code") for c in resource["code"].get("coding", ())}
    return tables.category("vital-signs" if codes & tables.VITAL_SIGNS_LOINC else "laboratory")


def _result(
    group: ObservationGroup,
    order_id: str,
    fallback: str | None,
    subject: JSON,
    patient_key: IdentifierKey,
    info: MessageInfo,
    options: Hl7v2Options,
    taken: set[IdentifierKey],
) -> JSON:
    resource = observation(
        group.obx, info, options, fallback_effective=fallback, comments=group.notes
    )
    resource["category"] = [_category(resource)]
    resource["subject"] = subject
    key = _result_key(group.obx, order_id, patient_key, info, options)
    return upsert(resource, distinct(key, taken, RESULT_SYSTEM))


@dataclass(slots=True)
class _Taken:
    """The result and report keys a message has used so far."""

    results: set[IdentifierKey] = field(default_factory=set)
    reports: set[IdentifierKey] = field(default_factory=set)


def _order_results(
    order: OrderGroup,
    subject: JSON,
    patient_key: IdentifierKey,
    info: MessageInfo,
    options: Hl7v2Options,
    taken: _Taken,
) -> list[JSON]:
    """The result entries of one order; what they take from the OBR is read once."""
    groups = [group for group in order.observations if not is_blank(group.obx)]
    if not groups:
        return []
    fallback = order.observation_time(info.zone)
    order_id = _order_id(order, info, options)
    return [
        _result(group, order_id, fallback, subject, patient_key, info, options, taken.results)
        for group in groups
    ]


def _lab_group(
    group: PatientGroup,
    info: MessageInfo,
    ctx: MapContext,
    options: Hl7v2Options,
    taken: _Taken,
) -> Iterator[JSON]:
    if group.pid is None:
        raise MappingError(
            "ORU^R01 result without a PID",
            code="required-missing",
            location=SegmentLocation("PID"),
        )
    record = patient(group.pid, info, options)
    subject, placeholder = patient_subject(record.key, ctx, record.resource)
    yield from placeholder
    for order in group.orders:
        results = _order_results(order, subject, record.key, info, options, taken)
        yield from results
        if order.obr is not None:
            yield report_entry(
                order.obr, results, subject, record.key, info, options, taken.reports
            )


def _entries(
    message: Message, info: MessageInfo, ctx: MapContext, options: Hl7v2Options
) -> Iterator[JSON]:
    groups = result_groups(message)
    if not any(group.observations() for group in groups):
        raise MappingError(
            "ORU^R01 carries no OBX segment (truncated message?)",
            code="required-missing",
            location=SegmentLocation("OBX"),
        )
    if is_pcd01(message):
        yield from pcd01_entries(groups, info, ctx, options)
        return
    taken = _Taken()
    for group in groups:
        yield from _lab_group(group, info, ctx, options, taken)


class OruMapper:
    """HL7 v2 ORU^R01 (lab results and IHE PCD-01 device data) to Observations."""

    name: ClassVar[str] = "hl7v2-oru"
    media_types: ClassVar[frozenset[str]] = MEDIA_TYPES
    message_types: ClassVar[frozenset[str]] = frozenset({"ORU^R01"})

    def __init__(self, options: Hl7v2Options | None = None) -> None:
        self._options = options or Hl7v2Options()

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Map one ORU^R01 message; see the module docstring."""
        message, info = parse_accepted(
            payload, ctx, self._options, self.message_types, "not ORU^R01"
        )
        return MappedMessage.build(info.key, _entries(message, info, ctx, self._options))
