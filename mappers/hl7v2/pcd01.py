"""IHE PCD-01 device observations -> Device hierarchy and Observations.

IHE PCD TF-2 3.1: an ORU^R01 from a device observation reporter (a monitor or gateway).

OBX-4 places every OBX in the IEEE 11073 containment tree ``MDS.VMD.CHANNEL.METRIC``.
An OBX without a value whose sub-id ends in zeros describes a device level (``1.0.0.0``
the MDS, ``1.1.0.0`` a VMD, ``1.1.1.0`` a channel); each becomes a Device found or created
by identifier: the MDS by the EUI-64 of OBX-18 (the PHD IG's IEEE 11073 system-id
identifier), VMDs and channels by their place under it, linked by ``Device.parent``.
Every OBX with a value becomes an Observation whose ``device`` is the nearest described
level above it; MDC vital-sign codes gain their LOINC codes and the vital-signs category.
Readings are created once by a deterministic identifier (device, sub-id, code, time);
corrections (OBX-11 C, D, W, A) upsert instead. A PID without identifiers (a monitor not
yet associated with a patient) makes the MDS Device the Observations' subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MapContext,
    MappingError,
    SegmentLocation,
    compact,
    create_once,
    patient_subject,
    reading_key,
    reference,
    upsert,
)
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.groups import PatientGroup
from mappers.hl7v2.header import MessageInfo
from mappers.hl7v2.mdc import with_loinc
from mappers.hl7v2.observation import observation
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.patient import patient
from mappers.hl7v2.segments import Segment

SYSTEM_ID = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
COMPONENT_SYSTEM = "urn:fhir-server:device-component"
_SYSID_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/ContinuaDeviceIdentifiers",
            "code": "SYSID",
            "display": "IEEE 11073 System Identifier",
        }
    ]
}
_EUI64 = re.compile(r"^[0-9A-Fa-f]{16}$")
_REVISED = frozenset({"corrected", "amended", "entered-in-error", "cancelled"})


def _path(obx: Segment) -> tuple[str, ...]:
    return _sub_id_path(obx.text(4))


@lru_cache(maxsize=256)
def _sub_id_path(sub_id: str) -> tuple[str, ...]:
    """An OBX-4 sub-id as its containment path (memoised: the tree is walked often)."""
    return tuple(p.strip() for p in sub_id.split(".") if p.strip())


def _device_level(obx: Segment) -> tuple[str, ...] | None:
    """The containment path an OBX describes when it is a device row (no value)."""
    path = _path(obx)
    if obx.raw(5) or not path or len(path) > 4:
        return None
    significant = path[: next((i for i, p in enumerate(path) if p == "0"), len(path))]
    if not significant or any(p != "0" for p in path[len(significant) :]) or len(significant) > 3:
        return None
    return significant


def _equipment(obx: Segment, info: MessageInfo, options: Hl7v2Options) -> IdentifierKey | None:
    for ei in obx.repetitions(18):
        value = ei.get(1).strip()
        if _EUI64.match(value):
            return IdentifierKey(
                SYSTEM_ID, "-".join(value[i : i + 2].upper() for i in range(0, 16, 2))
            )
    found = datatypes.entity_identifier(obx.first(18), options, info.default_system)
    return IdentifierKey(found["system"], found["value"]) if found and "system" in found else None


@dataclass(frozen=True, slots=True)
class DeviceTree:
    """Device entries by containment path; the MDS is the path of one element."""

    entries: dict[tuple[str, ...], JSON]

    def nearest(self, path: tuple[str, ...]) -> JSON | None:
        """The entry of the deepest described level containing ``path``."""
        for depth in range(min(len(path), 3), 0, -1):
            if path[:depth] in self.entries:
                return self.entries[path[:depth]]
        return None


def _mds_key(
    mds: str, rows: list[Segment], info: MessageInfo, options: Hl7v2Options
) -> IdentifierKey | None:
    candidates = [r for r in rows if _path(r)[:1] == (mds,)]
    described = [r for r in candidates if _device_level(r) == (mds,)]
    for row in described + candidates:
        key = _equipment(row, info, options)
        if key is not None:
            return key
    return None


def _device(row: Segment | None, key: IdentifierKey, extra: JSON, options: Hl7v2Options) -> JSON:
    kind = datatypes.codeable_concept(row.first(3), options) if row is not None else None
    identifier = (
        {**key.to_fhir(), "type": _SYSID_TYPE} if key.system == SYSTEM_ID else key.to_fhir()
    )
    resource = compact(
        {
            "resourceType": "Device",
            "identifier": [identifier],
            "status": "active",
            "type": kind,
            **extra,
        }
    )
    return create_once(resource, key)


def device_tree(
    rows: list[Segment], owner: JSON | None, info: MessageInfo, options: Hl7v2Options
) -> DeviceTree:
    """The Device entries of one patient group's OBX rows; ``owner`` is Device.patient."""
    levels = {level: row for row in rows if (level := _device_level(row)) is not None}
    entries: dict[tuple[str, ...], JSON] = {}
    for mds in dict.fromkeys(_path(r)[0] for r in rows if _path(r)):
        key = _mds_key(mds, rows, info, options)
        if key is not None:
            entries[(mds,)] = _device(levels.get((mds,)), key, {"patient": owner}, options)
    for level, row in sorted(levels.items(), key=lambda item: len(item[0])):
        parent = entries.get(level[:-1]) if len(level) > 1 else None
        if parent is None:
            continue
        mds_value = entries[level[:1]]["resource"]["identifier"][0]["value"]
        key = IdentifierKey(COMPONENT_SYSTEM, f"{mds_value}/{'.'.join(level)}")
        entries[level] = _device(row, key, {"parent": reference(parent)}, options)
    return DeviceTree(entries)


def _reading(
    obx: Segment,
    fallback: str | None,
    subject: JSON,
    tree: DeviceTree,
    info: MessageInfo,
    options: Hl7v2Options,
) -> JSON:
    resource = observation(obx, info, options, fallback_effective=fallback)
    code, vital = with_loinc(resource["code"])
    device = tree.nearest(_path(obx))
    resource = compact(
        {
            **resource,
            "code": code,
            "category": [tables.category("vital-signs")] if vital else None,
            "subject": subject,
            "device": reference(device) if device else None,
        }
    )
    owner = device["resource"]["identifier"][0]["value"] if device else info.sender
    key = reading_key(owner, obx.text(4), obx.text(3, 1), resource.get("effectiveDateTime", ""))
    return upsert(resource, key) if resource["status"] in _REVISED else create_once(resource, key)


def _subject(
    group: PatientGroup, ctx: MapContext, info: MessageInfo, options: Hl7v2Options
) -> tuple[JSON | None, tuple[JSON, ...]]:
    if group.pid is None or not any(cx.get(1).strip() for cx in group.pid.repetitions(3)):
        return None, ()
    record = patient(group.pid, info, options)
    return patient_subject(record.key, ctx, record.resource)


def pcd01_entries(
    groups: list[PatientGroup], info: MessageInfo, ctx: MapContext, options: Hl7v2Options
) -> Iterator[JSON]:
    """The transaction entries of a PCD-01 message's result groups."""
    for group in groups:
        subject, placeholder = _subject(group, ctx, info, options)
        yield from placeholder
        pairs = group.observations()
        tree = device_tree([obs.obx for _, obs in pairs], subject, info, options)
        yield from tree.entries.values()
        mds = tree.nearest(next((_path(o.obx) for _, o in pairs if _path(o.obx)), ()))
        subject = subject or (reference(mds) if mds else None)
        if subject is None:
            raise MappingError(
                "PCD-01 result names neither a patient (PID-3) nor a device (OBX-18)",
                code="required-missing",
                location=SegmentLocation("PID", field=3),
            )
        for order, obs in pairs:
            if obs.obx.raw(5):
                fallback = order.observation_time(info.zone)
                yield _reading(obs.obx, fallback, subject, tree, info, options)
