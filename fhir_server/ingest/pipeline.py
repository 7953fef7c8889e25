"""Raw message -> mapper -> transaction Bundle -> resource service, with the inbox around it.

:meth:`Pipeline.ingest` is what every transport calls: it writes the message to the inbox
(durable before it returns), and processes it unless an earlier delivery already did, in
which case the first answer is given again. Processing maps the payload with the mapper the
message names (``hl7v2`` routes by MSH-9), stamps every written resource with
``meta.source`` = ``urn:fhir-server:inbox:<id>`` (the inbox message it came from), and runs
the entries as one transaction (:func:`fhir_server.core.bundles.transaction`): conditional
creates find-or-create Devices and Patients by identifier, and conditional updates of the
same content create no new version, so running a message twice changes nothing.

Outcomes: ``processed``; ``dead`` (the mapper or the transaction rejected the message, the
reason is kept and the message can be replayed); or an exception that leaves the message
``received`` for a later retry: :class:`Refused` (the caller may not write these resources)
and :class:`Transient` (the store is unavailable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_server.core.bundles import EntryResult, transaction
from fhir_server.core.resources import ResourceService
from fhir_server.errors import FhirError, Forbidden, StorageUnavailable, Unauthorized
from fhir_server.ingest.inbox import Inbox, InboxMessage
from fhir_server.ingest.msh import NotHl7, looks_like_hl7, parse_header
from fhir_server.ingest.registry import MapperRegistry
from fhir_server.ingest.spec import (
    MapContext,
    Mapper,
    MappingError,
    MessageKeyed,
    UnknownPatientPolicy,
    content_key,
)

HL7_ROUTE = "hl7v2"
"""The mapper name of messages routed by their MSH-9 message type."""

SOURCE_PREFIX = "urn:fhir-server:inbox:"

log = logging.getLogger(__name__)


class Refused(Exception):
    """The caller may not write what the message maps to; nothing was accepted."""

    def __init__(self, error: FhirError) -> None:
        super().__init__(error.diagnostics)
        self.error = error


class Transient(Exception):
    """Processing could not run now; the message stays ``received`` for a retry."""


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one delivery.

    Attributes:
        message: the inbox row after processing.
        duplicate: True when an earlier delivery had already been processed or rejected.
    """

    message: InboxMessage
    duplicate: bool

    def to_json(self) -> dict[str, Any]:
        """A small JSON answer for the HTTP transport."""
        m = self.message
        body: dict[str, Any] = {"id": m.id, "key": m.key, "state": m.state}
        body["duplicate"] = self.duplicate
        if m.result is not None:
            body["entries"] = m.result.get("entries", [])
        if m.error is not None:
            body["error"] = m.error
        return body


def message_key(mapper: Mapper | None, payload: bytes) -> str:
    """The key of a payload: MSH sender + MSH-10, a mapper's own key, or a content hash."""
    if looks_like_hl7(payload):
        try:
            key = parse_header(payload).key()
        except NotHl7:
            key = None
        if key:
            return key
    keyed: object = mapper
    if isinstance(keyed, MessageKeyed):
        try:
            own = keyed.message_key(payload)
        except Exception:  # a broken plugin hook: the content hash always works
            own = None
        if isinstance(own, str) and own:
            return own
    return content_key(payload)


def _error(code: str, reason: str, location: object = None) -> dict[str, Any]:
    return {"code": code, "reason": reason, "location": None if location is None else str(location)}


def _no_mapper(message: InboxMessage) -> dict[str, Any]:
    if message.mapper != HL7_ROUTE:
        return _error("unsupported-message", f"no mapper is named {message.mapper!r}")
    try:
        header = parse_header(message.payload)
    except NotHl7 as exc:
        return _error("malformed", str(exc), "MSH")
    reason = f"no mapper accepts message type {header.message_type or '(empty)'}"
    return _error("unsupported-message", reason, "MSH-9")


def _stamp(entry: dict[str, Any], source: str) -> dict[str, Any]:
    resource = entry["resource"]
    if entry["request"]["method"] not in ("POST", "PUT") or resource["resourceType"] in (
        "Parameters",
        "Binary",
    ):
        return entry
    meta = {**resource.get("meta", {}), "source": source}
    return {**entry, "resource": {**resource, "meta": meta}}


def _entry_summary(result: EntryResult) -> dict[str, Any]:
    summary: dict[str, Any] = {"status": result.status}
    if result.version is not None:
        v = result.version
        summary["location"] = f"{v.resource_type}/{v.id}/_history/{v.version_id}"
    return summary


class Pipeline:
    """Maps and writes inbox messages through a resource service."""

    def __init__(
        self,
        inbox: Inbox,
        registry: MapperRegistry | Callable[[], MapperRegistry],
        service: ResourceService,
        *,
        unknown_patient_policy: UnknownPatientPolicy = "hold",
        max_entries: int = 10_000,
    ) -> None:
        """Wire the pipeline.

        ``registry`` may be a loader, called on first use (entry-point discovery imports
        every plugin); ``service`` is used when a caller brings none (MLLP, MQTT).
        """
        self.inbox = inbox
        self._registry = registry
        self.service = service
        self.policy: UnknownPatientPolicy = unknown_patient_policy
        self.max_entries = max_entries

    @property
    def registry(self) -> MapperRegistry:
        """The mappers; a loader given instead of a registry runs on first use."""
        if not isinstance(self._registry, MapperRegistry):
            self._registry = self._registry()
        return self._registry

    def mapper_for(self, name: str, payload: bytes) -> Mapper | None:
        """The mapper a message names; ``hl7v2`` picks one by MSH-9."""
        if name != HL7_ROUTE:
            return self.registry.get(name)
        try:
            return self.registry.for_message_type(parse_header(payload).message_type)
        except NotHl7:
            return None

    def ingest(
        self,
        mapper: str,
        payload: bytes,
        *,
        transport: str,
        source: str,
        content_type: str = "",
        service: ResourceService | None = None,
    ) -> Result:
        """Store one delivery in the inbox, then process it unless that was done before."""
        stored, first = self.inbox.receive(
            message_key(self.mapper_for(mapper, payload), payload),
            mapper=mapper,
            transport=transport,
            source=source,
            payload=payload,
            content_type=content_type,
        )
        if stored.state != "received":
            return Result(stored, duplicate=True)
        try:
            return Result(self.process(stored, service), duplicate=False)
        except Refused:
            if first:  # refused before it was accepted: as if it never came
                self.inbox.discard(stored.id)
            raise

    def accept(
        self, mapper: str, payload: bytes, *, transport: str, source: str
    ) -> tuple[InboxMessage, bool]:
        """Store one delivery without processing it (a transport that acks first)."""
        key = message_key(self.mapper_for(mapper, payload), payload)
        return self.inbox.receive(
            key, mapper=mapper, transport=transport, source=source, payload=payload
        )

    def process(
        self, message: InboxMessage, service: ResourceService | None = None
    ) -> InboxMessage:
        """Map and write one ``received`` message; returns its row afterwards."""
        outcome = self._run(message, service or self.service)
        if "error" in outcome:
            self.inbox.dead(message.id, outcome["error"])
            log.warning("message %s is a dead letter: %s", message.id, outcome["error"]["reason"])
        else:
            self.inbox.processed(message.id, outcome)
        stored = self.inbox.get(message.id)
        assert stored is not None
        return stored

    def _run(self, message: InboxMessage, service: ResourceService) -> dict[str, Any]:
        mapper = self.mapper_for(message.mapper, message.payload)
        if mapper is None:
            return {"error": _no_mapper(message)}
        ctx = MapContext(
            received_at=message.received_at,
            transport=message.transport,
            source=message.source,
            message_key=message.key,
            unknown_patient_policy=self.policy,
        )
        try:
            mapped = mapper.map(message.payload, ctx)
        except MappingError as exc:
            return {"error": _error(exc.code, exc.reason, exc.location)}
        except Exception as exc:  # a broken plugin must not take the transport down
            log.exception("mapper %s failed on message %s", mapper.name, message.id)
            return {"error": _error("application-error", f"mapper {mapper.name} failed: {exc!r}")}
        source = SOURCE_PREFIX + message.id
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [_stamp(e, source) for e in mapped.bundle_entries],
        }
        try:
            results = transaction(service, bundle, self.max_entries)
        except (Unauthorized, Forbidden) as exc:
            raise Refused(exc) from exc
        except StorageUnavailable as exc:
            raise Transient(exc.diagnostics) from exc
        except FhirError as exc:
            return {"error": _error(exc.code or exc.issue_type, exc.diagnostics)}
        return {"entries": [_entry_summary(r) for r in results]}

    def replay(self, id: str, service: ResourceService | None = None) -> InboxMessage | None:
        """Process a dead letter again (after its mapper or template was fixed)."""
        message = self.inbox.requeue(id)
        if message is None:
            return None
        try:
            return self.process(message, service)
        except (Refused, Transient):
            self.inbox.dead(id, message.error or _error("application-error", "replay refused"))
            raise

    def recover(self, limit: int = 100_000) -> int:
        """Process every message a crash left ``received``; returns how many ran."""
        pending = self.inbox.list("received", limit=limit)
        for message in pending:
            try:
                self.process(message)
            except (Refused, Transient) as exc:
                log.warning("message %s still pending: %s", message.id, exc)
        return len(pending)
