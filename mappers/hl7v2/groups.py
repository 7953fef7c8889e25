"""The result groups of an ORU^R01: patient -> order (OBR) -> observation (OBX) + NTE.

ORU_R01 (v2.5.1 7.3.1) repeats PATIENT_RESULT groups, each an optional PID and any number
of ORDER_OBSERVATION groups. Segments the mappers do not read (PV1, ORC, SPM, ...) are
skipped; an NTE belongs to the OBX before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from mappers.hl7v2.segments import Message, Segment
from mappers.hl7v2.timestamps import to_datetime


@dataclass(slots=True)
class ObservationGroup:
    """One OBX and the NTE comments after it."""

    obx: Segment
    notes: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class OrderGroup:
    """One OBR (None when OBX segments come before any OBR) and its observations."""

    obr: Segment | None
    observations: list[ObservationGroup] = field(default_factory=list)

    def observation_time(self, zone: tzinfo) -> str | None:
        """OBR-7 as a FHIR dateTime: the effective time of results that give none."""
        obr = self.obr
        return to_datetime(obr.text(7), obr.location(7), zone) if obr and obr.text(7) else None


@dataclass(slots=True)
class PatientGroup:
    """One PID (None when the message has none) and its orders."""

    pid: Segment | None
    orders: list[OrderGroup] = field(default_factory=list)

    def observations(self) -> list[tuple[OrderGroup, ObservationGroup]]:
        """Every observation of the group with its order, in message order."""
        return [(order, obs) for order in self.orders for obs in order.observations]


def result_groups(message: Message) -> list[PatientGroup]:
    """The PATIENT_RESULT groups of an ORU^R01, in message order."""
    groups: list[PatientGroup] = []
    for segment in message.segments[1:]:
        if segment.name == "PID":
            groups.append(PatientGroup(segment))
        elif segment.name == "OBR":
            if not groups:
                groups.append(PatientGroup(None))
            groups[-1].orders.append(OrderGroup(segment))
        elif segment.name == "OBX":
            if not groups:
                groups.append(PatientGroup(None))
            if not groups[-1].orders:
                groups[-1].orders.append(OrderGroup(None))
            groups[-1].orders[-1].observations.append(ObservationGroup(segment))
        elif segment.name == "NTE" and groups and groups[-1].orders:
            observations = groups[-1].orders[-1].observations
            if observations:
                observations[-1].notes.append(segment)
    return groups
