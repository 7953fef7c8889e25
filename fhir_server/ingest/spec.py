"""The public mapper plugin API: the only module a mapper plugin may import.

A mapper turns one raw payload (an HL7 v2 message, a vendor's JSON) into the entries of a
FHIR transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction). Every entry is
written so that delivering the same payload twice never creates a second resource:

* Device and, under the ``placeholder`` policy, Patient are **found or created**:
  ``POST`` with ``ifNoneExist: identifier=system|value`` (:func:`create_once`).
* Immutable facts (device readings) are **created once** the same way, keyed by a
  deterministic identifier (:func:`reading_key`).
* Records that legitimately change (a Patient from an ADT feed, an Encounter, a lab result
  going preliminary -> final -> corrected, a DiagnosticReport) are **upserted** by
  conditional update: ``PUT Type?identifier=system|value`` (:func:`upsert`). Re-sending
  the same content updates the one matching resource (a server that skips identical
  updates, as it should, then records no new version either).
* A change to part of a resource the message does not own (the prior Patient of an HL7
  merge) is a conditional ``PATCH`` with a FHIRPath Patch ``Parameters`` body.
* Entries refer to each other through their ``urn:uuid:`` ``fullUrl``, derived from the
  resource type and identifier (:func:`full_url`), so the same resource gets the same
  ``fullUrl`` in every message.
* A Patient known only by identifier is referenced according to
  :attr:`MapContext.unknown_patient_policy` (:func:`patient_subject`): ``hold`` uses a
  conditional reference (``Patient?identifier=...``) that fails the transaction when no
  such Patient exists, so the message waits in the dead-letter store until the ADT feed
  catches up; ``placeholder`` creates the Patient once from what the message knows.

Errors: a mapper raises :class:`MappingError` with a reason, a stable code and, where it
can, the location of the problem (an HL7 segment and field, or a JSON path), which the
transports turn into ACK ``ERR`` segments and dead-letter reasons.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, TypeAlias, runtime_checkable
from urllib.parse import quote

JSON: TypeAlias = dict[str, Any]
"""A FHIR resource, Bundle entry or element as parsed JSON."""

UnknownPatientPolicy: TypeAlias = Literal["hold", "placeholder"]

ErrorCode: TypeAlias = Literal[
    "malformed",  # cannot be parsed at all            (HL7 table 0357: 100/102, ACK AR)
    "unsupported-message",  # message type or event not handled (0357: 200/201, ACK AR)
    "unsupported-version",  # HL7 version not handled   (0357: 203, ACK AR)
    "required-missing",  # a required segment or field is empty (0357: 101, ACK AE)
    "invalid-value",  # a value does not fit its data type      (0357: 102, ACK AE)
    "unknown-code",  # a coded value is not in its table        (0357: 103, ACK AE)
    "application-error",  # anything else                      (0357: 207, ACK AE)
]

READING_SYSTEM = "urn:fhir-server:device-reading"
"""Identifier system of the deterministic identifier given to every device reading."""

PLACEHOLDER_TAG: JSON = {
    "system": "urn:fhir-server:tag",
    "code": "placeholder",
    "display": "Created by ingestion before the patient was registered",
}

_NAMESPACE_BYTES = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fhir-server:ingest").bytes
_SEARCH_SPECIALS = str.maketrans({"\\": "\\\\", "|": "\\|", ",": "\\,", "$": "\\$"})


@dataclass(frozen=True, slots=True)
class MapContext:
    """What a transport knows about a payload besides its bytes.

    Attributes:
        received_at: when the transport accepted the payload (timezone-aware).
        transport: ``http``, ``mqtt``, ``mllp`` or ``replay``.
        source: where it came from: a peer address, an MQTT topic, a client id.
        message_key: the transport's own message id, when it has one.
        unknown_patient_policy: what to do about a Patient known only by identifier.
    """

    received_at: datetime
    transport: str
    source: str
    message_key: str | None = None
    unknown_patient_policy: UnknownPatientPolicy = "hold"


@dataclass(frozen=True, slots=True)
class SegmentLocation:
    """A position inside an HL7 v2 message, as an ACK ``ERR-2`` (ERL) wants it.

    Attributes:
        segment: segment id, e.g. ``OBX``.
        occurrence: 1-based occurrence of that segment id in the message.
        field: field number, or None for the whole segment.
        component: component number, or None for the whole field.
    """

    segment: str
    occurrence: int = 1
    field: int | None = None
    component: int | None = None

    def __str__(self) -> str:
        text = self.segment if self.occurrence == 1 else f"{self.segment}[{self.occurrence}]"
        if self.field is not None:
            text += f"-{self.field}"
            if self.component is not None:
                text += f".{self.component}"
        return text


class MappingError(Exception):
    """A payload that cannot be turned into FHIR resources.

    Attributes:
        reason: what is wrong, for a human.
        code: a stable :data:`ErrorCode`.
        location: where: an HL7 position or a JSON/JMESPath path, if known.
    """

    def __init__(
        self,
        reason: str,
        *,
        code: ErrorCode = "application-error",
        location: SegmentLocation | str | None = None,
    ) -> None:
        super().__init__(reason if location is None else f"{reason} (at {location})")
        self.reason = reason
        self.code: ErrorCode = code
        self.location = location


@dataclass(frozen=True, slots=True)
class IdentifierKey:
    """A business identifier (system and value) that finds one resource.

    Attributes:
        system: the identifier's namespace URI.
        value: the identifier's value.
    """

    system: str
    value: str

    def to_fhir(self) -> JSON:
        """The key as a FHIR ``Identifier``."""
        return {"system": self.system, "value": self.value}

    def search(self) -> str:
        """The key as a search query, escaped as the FHIR search grammar requires."""
        token = (
            f"{self.system.translate(_SEARCH_SPECIALS)}|{self.value.translate(_SEARCH_SPECIALS)}"
        )
        return "identifier=" + quote(token, safe=":/|")


def content_key(payload: bytes) -> str:
    """A message key derived from the payload bytes, for payloads that carry no id."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def reading_key(*parts: str) -> IdentifierKey:
    """The deterministic identifier of a reading, e.g. from device, code and time."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return IdentifierKey(READING_SYSTEM, digest)


def full_url(resource_type: str, key: IdentifierKey) -> str:
    """The ``urn:uuid:`` fullUrl of the entry for the resource that ``key`` finds."""
    name = f"{resource_type}|{key.system}|{key.value}"
    # uuid.uuid5(namespace, name), written out: every entry needs one, and building the
    # UUID object costs twice as much as the hash itself.
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"urn:uuid:{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _with_identifier(resource: JSON, key: IdentifierKey) -> JSON:
    identifiers = list(resource.get("identifier", ()))
    if not any(i.get("system") == key.system and i.get("value") == key.value for i in identifiers):
        identifiers.insert(0, key.to_fhir())
    result = {"resourceType": resource["resourceType"], "identifier": identifiers, **resource}
    result["identifier"] = identifiers  # ** kept the key's place but took its old value
    return result


def create_once(resource: JSON, key: IdentifierKey) -> JSON:
    """A transaction entry creating ``resource`` unless one with ``key`` exists.

    ``key`` is added to ``resource.identifier`` when it is not there yet.
    """
    resource_type = resource["resourceType"]
    return {
        "fullUrl": full_url(resource_type, key),
        "resource": _with_identifier(resource, key),
        "request": {"method": "POST", "url": resource_type, "ifNoneExist": key.search()},
    }


def upsert(resource: JSON, key: IdentifierKey) -> JSON:
    """A transaction entry updating the resource found by ``key``, or creating it.

    ``key`` is added to ``resource.identifier`` when it is not there yet.
    """
    resource_type = resource["resourceType"]
    return {
        "fullUrl": full_url(resource_type, key),
        "resource": _with_identifier(resource, key),
        "request": {"method": "PUT", "url": f"{resource_type}?{key.search()}"},
    }


def reference(entry: JSON) -> JSON:
    """A Reference to the resource of another entry of the same transaction."""
    return {"reference": entry["fullUrl"]}


def conditional_reference(resource_type: str, key: IdentifierKey) -> JSON:
    """A conditional Reference the server resolves by identifier at transaction time."""
    return {"reference": f"{resource_type}?{key.search()}"}


def patient_subject(
    key: IdentifierKey, ctx: MapContext, patient: JSON | None = None
) -> tuple[JSON, tuple[JSON, ...]]:
    """How to refer to a Patient known by ``key``, following the unknown-patient policy.

    Args:
        key: the Patient's identifier.
        ctx: the mapping context carrying the policy.
        patient: what the payload says about the Patient, used as the placeholder.

    Returns:
        The Reference to use, and the entries to add to the transaction (none under
        ``hold``; one found-or-created, tagged placeholder Patient otherwise).
    """
    if ctx.unknown_patient_policy == "hold":
        return conditional_reference("Patient", key), ()
    body = patient or {"resourceType": "Patient", "active": True}
    meta = {**body.get("meta", {}), "tag": [*body.get("meta", {}).get("tag", ()), PLACEHOLDER_TAG]}
    entry = create_once({**body, "meta": meta}, key)
    return reference(entry), (entry,)


def _compact_dict(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or item.__class__ is str:  # most leaves: test them first
            if item:
                out[key] = item
        elif isinstance(item, dict):
            if item := _compact_dict(item):
                out[key] = item
        elif isinstance(item, list):
            if item := _compact_list(item):
                out[key] = item
        elif item != "":
            out[key] = item
    return out


def _compact_list(value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        if item is None or item.__class__ is str:
            if item:
                out.append(item)
        elif isinstance(item, dict):
            if item := _compact_dict(item):
                out.append(item)
        elif isinstance(item, list):
            if item := _compact_list(item):
                out.append(item)
        elif item != "":
            out.append(item)
    return out


def compact(value: Any) -> Any:
    """``value`` without None, empty strings, lists and objects, recursively.

    FHIR forbids empty elements; building a resource then compacting it keeps it valid.
    Every mapped resource goes through it, so it is written as plain loops.
    """
    if isinstance(value, dict):
        return _compact_dict(value)
    if isinstance(value, list):
        return _compact_list(value)
    return value


@dataclass(frozen=True, slots=True)
class MappedMessage:
    """The result of mapping one payload.

    Attributes:
        message_key: a deterministic key of the payload; redelivery yields the same key.
        bundle_entries: transaction Bundle entries, each with ``fullUrl``, ``resource``
            and ``request``; fullUrls are unique.
    """

    message_key: str
    bundle_entries: tuple[JSON, ...]

    def __post_init__(self) -> None:
        if not self.message_key:
            raise ValueError("a MappedMessage needs a message_key")
        seen: set[str] = set()
        for entry in self.bundle_entries:
            if not {"fullUrl", "resource", "request"} <= entry.keys():
                raise ValueError("every entry needs fullUrl, resource and request")
            if entry["fullUrl"] in seen:
                raise ValueError(f"duplicate fullUrl {entry['fullUrl']}")
            seen.add(entry["fullUrl"])

    @classmethod
    def build(cls, message_key: str, entries: Iterable[JSON]) -> MappedMessage:
        """A MappedMessage keeping the first of entries that share a fullUrl."""
        unique: dict[str, JSON] = {}
        for entry in entries:
            unique.setdefault(entry["fullUrl"], entry)
        return cls(message_key, tuple(unique.values()))

    @property
    def resources(self) -> tuple[JSON, ...]:
        """The resources of all entries, in entry order."""
        return tuple(entry["resource"] for entry in self.bundle_entries)

    def to_bundle(self) -> JSON:
        """The entries as a FHIR transaction Bundle."""
        return {"resourceType": "Bundle", "type": "transaction", "entry": list(self.bundle_entries)}


@runtime_checkable
class Mapper(Protocol):
    """A mapper plugin, registered in the ``fhir_server.mappers`` entry-point group.

    Attributes:
        name: the mapper's name, as used in ``POST /ingest/{name}``.
        media_types: content types it accepts, e.g. ``application/json``.
        message_types: HL7 ``code^event`` pairs it accepts (``ORU^R01``), ``CODE^*`` for
            every event of a code, ``*`` for anything; empty when not message-typed.
    """

    name: ClassVar[str]
    media_types: ClassVar[frozenset[str]]
    message_types: ClassVar[frozenset[str]]

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Turn one payload into transaction entries, or raise :class:`MappingError`."""
        ...


@runtime_checkable
class MessageKeyed(Protocol):
    """Optional for a mapper: the payload's own message id, read before mapping.

    Transports key the inbox with it (a vendor's batch id), so a re-sent batch is recognised
    even when its bytes differ; without it they use MSH-10 (HL7 v2) or a content hash.
    """

    def message_key(self, payload: bytes) -> str | None:
        """The message key ``map`` would give, or None when the payload has none."""
        ...


__all__ = [
    "JSON",
    "PLACEHOLDER_TAG",
    "READING_SYSTEM",
    "ErrorCode",
    "IdentifierKey",
    "MapContext",
    "MappedMessage",
    "Mapper",
    "MappingError",
    "MessageKeyed",
    "SegmentLocation",
    "UnknownPatientPolicy",
    "compact",
    "conditional_reference",
    "content_key",
    "create_once",
    "full_url",
    "patient_subject",
    "reading_key",
    "reference",
    "upsert",
]
