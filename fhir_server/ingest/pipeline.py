"""Raw message -> mapper -> transaction Bundle -> resource service, with the inbox around it.

Every transport hands deliveries to :meth:`Pipeline.submit` (or :meth:`Pipeline.ingest`, which
waits): one worker thread (:mod:`fhir_server.ingest.batcher`) takes every delivery waiting,
from all connections and clients, and :meth:`Pipeline.ingest_many` runs them as a batch:
their inbox rows in one commit, fsynced on the inbox's own thread while the new ones are
mapped and written in one storage transaction; once the rows are durable they are marked
in one inbox commit and ``on_stored`` runs (the MQTT PUBACK), before any answer. A storage
write before the inbox commit is harmless: if that commit fails nothing is acknowledged,
and the redelivery changes nothing. If the storage transaction fails, it is rolled back
whole and every message runs in its own transaction, so a bad message only fails itself.
A redelivered message is answered from the inbox.

Processing maps the payload with the mapper the message names (``hl7v2`` routes by
MSH-9), stamps every written resource with ``meta.source`` = ``urn:fhir-server:inbox:<id>``
(the inbox message it came from), and runs the entries as one transaction
(:func:`fhir_server.core.bundles.transaction`): conditional creates find-or-create Devices
and Patients by identifier, and conditional updates of the same content create no new
version, so running a message twice changes nothing.

Outcomes: ``processed``; ``dead`` (the mapper or the transaction rejected the message, the
reason is kept and the message can be replayed); or an exception that leaves the message
``received`` for a later retry: :class:`Refused` (the caller may not write these resources)
and :class:`Transient` (the store is unavailable).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from fhir_server.core.bundles import EntryResult, transaction
from fhir_server.core.resources import ResourceService
from fhir_server.errors import FhirError, Forbidden, StorageUnavailable, Unauthorized
from fhir_server.ingest.batcher import Batcher
from fhir_server.ingest.inbox import Finished, Inbox, InboxMessage, InboxUnavailable, NewMessage
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
_LINGER_S = 0.002
"""How long the batch worker waits for senders still answering the previous batch."""
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as a transport received it.

    Attributes:
        mapper: the mapper it names (``hl7v2`` routes by MSH-9).
        payload: the raw bytes.
        transport: ``http``, ``mllp`` or ``mqtt``.
        source: peer address, topic or client.
        content_type: the media type it came with.
        service: the resource service to write through (the caller's); None: the pipeline's.
        on_stored: called with the inbox row once it is durable, before processing.
    """

    mapper: str
    payload: bytes
    transport: str
    source: str
    content_type: str = ""
    service: ResourceService | None = None
    on_stored: Callable[[InboxMessage], None] | None = None


Outcome = InboxMessage | BaseException
"""A processed message's row, or why it stayed ``received`` (Refused, Transient)."""


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
        max_batch: int = 64,
    ) -> None:
        """Wire the pipeline.

        ``registry`` may be a loader, called on first use (entry-point discovery imports
        every plugin); ``service`` is used when a caller brings none (MLLP, MQTT);
        ``max_batch`` bounds how many deliveries share one commit.
        """
        self.inbox = inbox
        self._registry = registry
        self.service = service
        self.policy: UnknownPatientPolicy = unknown_patient_policy
        self.max_entries = max_entries
        self.max_batch = max_batch
        self._batcher: Batcher[Delivery, Result] | None = None
        self._batcher_lock = threading.Lock()

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

    def submit(self, delivery: Delivery) -> Future[Result]:
        """Queue a delivery for the batch worker (started on first use)."""
        with self._batcher_lock:
            if self._batcher is None:
                self._batcher = Batcher(
                    self.ingest_many, max_batch=self.max_batch, name="ingest", linger=_LINGER_S
                )
            batcher = self._batcher
        return batcher.submit(delivery)

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
        """Store one delivery in the inbox, then process it unless that was done before.

        Raises:
            Refused: the caller may not write what it maps to (nothing is kept).
            Transient: the store is unavailable; the message stays ``received``.
        """
        delivery = Delivery(mapper, payload, transport, source, content_type, service)
        return self.submit(delivery).result()

    def ingest_many(self, deliveries: Sequence[Delivery]) -> list[Result | BaseException]:
        """Store deliveries in one inbox commit, then process the new ones as one batch.

        Returns:
            Per delivery, in order, its :class:`Result`, or the exception that left it
            ``received`` (a refused first delivery is forgotten again).
        """
        receipt = self.inbox.receive_soon([self._new(d) for d in deliveries])
        stored = receipt.rows
        claimed: dict[str, int] = {}
        groups: list[tuple[ResourceService, list[InboxMessage]]] = []
        for index, (delivery, (message, _)) in enumerate(zip(deliveries, stored, strict=True)):
            if message.state != "received" or message.id in claimed:
                continue
            claimed[message.id] = index
            service = delivery.service or self.service
            group = next((g for s, g in groups if s is service), None)
            if group is None:
                groups.append((service, group := []))
            group.append(message)
        outcomes: dict[str, Outcome] = {}
        try:
            for service, messages in groups:
                outcomes.update(self._process_group(service, messages, receipt.durable))
            receipt.durable()
        except InboxUnavailable as exc:  # not stored, so not acknowledged: the sender retries
            return [Transient(str(exc)) for _ in deliveries]
        for delivery, (message, _) in zip(deliveries, stored, strict=True):
            if delivery.on_stored is not None:
                delivery.on_stored(message)
        return [
            self._answer(index, message, first, claimed, outcomes)
            for index, (message, first) in enumerate(stored)
        ]

    def _new(self, delivery: Delivery) -> NewMessage:
        key = message_key(self.mapper_for(delivery.mapper, delivery.payload), delivery.payload)
        d = delivery
        return NewMessage(key, d.mapper, d.transport, d.source, d.payload, d.content_type)

    def _answer(
        self,
        index: int,
        message: InboxMessage,
        first: bool,
        claimed: dict[str, int],
        outcomes: dict[str, Outcome],
    ) -> Result | BaseException:
        outcome = outcomes.get(message.id)
        if outcome is None:  # processed or rejected by an earlier delivery
            return Result(message, duplicate=True)
        mine = claimed[message.id] == index
        if isinstance(outcome, BaseException):
            if mine and first and isinstance(outcome, Refused):
                self.inbox.discard(message.id)  # refused before it was accepted
            return outcome
        return Result(outcome, duplicate=not mine)

    def process(
        self, message: InboxMessage, service: ResourceService | None = None
    ) -> InboxMessage:
        """Map and write one ``received`` message; returns its row afterwards."""
        outcome = self._process_group(service or self.service, [message])[message.id]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _process_group(
        self,
        service: ResourceService,
        messages: Sequence[InboxMessage],
        stored: Callable[[], None] = lambda: None,
    ) -> dict[str, Outcome]:
        """Map ``messages``, write them through ``service``, record what happened.

        ``stored`` waits until the messages are durable in the inbox (their commit runs
        while they are mapped and written); their state is recorded after it.
        """
        finished: list[Finished] = []
        bundles: list[tuple[InboxMessage, dict[str, Any]]] = []
        for message in messages:
            mapped = self._bundle(message)
            if "error" in mapped:
                finished.append(Finished(message.id, "dead", mapped["error"], None))
            else:
                bundles.append((message, mapped))
        outcomes: dict[str, Outcome] = {}
        for message, written in zip(
            (m for m, _ in bundles), self._write_all(service, bundles), strict=True
        ):
            if isinstance(written, BaseException):
                outcomes[message.id] = written
            elif "error" in written:
                finished.append(Finished(message.id, "dead", written["error"], None))
            else:
                finished.append(Finished(message.id, "processed", None, written))
        stored()
        for row in self.inbox.finish_many(finished):
            if row.state == "dead":
                reason = row.error["reason"] if row.error else ""
                log.warning("message %s is a dead letter: %s", row.id, reason)
            outcomes[row.id] = row
        return outcomes

    def _bundle(self, message: InboxMessage) -> dict[str, Any]:
        """The transaction Bundle of a message, or ``{"error": ...}`` when it cannot map."""
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
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [_stamp(e, source) for e in mapped.bundle_entries],
        }

    def _write_all(
        self, service: ResourceService, bundles: Sequence[tuple[InboxMessage, dict[str, Any]]]
    ) -> list[dict[str, Any] | BaseException]:
        """Every Bundle in one storage transaction; if that fails, each in its own."""
        if len(bundles) > 1:
            try:
                with service.transaction() as tx:
                    return [
                        {"entries": [_entry_summary(r) for r in self._transaction(tx, b)]}
                        for _, b in bundles
                    ]
            except Exception as exc:  # rolled back whole: now one transaction per message
                log.info("a batch of %d messages failed (%s); one by one", len(bundles), exc)
        return [self._write(service, bundle) for _, bundle in bundles]

    def _transaction(self, service: ResourceService, bundle: dict[str, Any]) -> list[EntryResult]:
        return transaction(service, bundle, self.max_entries)

    def _write(
        self, service: ResourceService, bundle: dict[str, Any]
    ) -> dict[str, Any] | Exception:
        """One Bundle in its own transaction: its summary, ``{"error": ...}``, or why not now."""
        try:
            results = self._transaction(service, bundle)
        except (Unauthorized, Forbidden) as exc:
            return Refused(exc)
        except StorageUnavailable as exc:
            return Transient(exc.diagnostics)
        except FhirError as exc:
            return {"error": _error(exc.code or exc.issue_type, exc.diagnostics)}
        except Exception as exc:  # not this message's fault: it stays received for a retry
            log.exception("writing a message failed")
            return Transient(repr(exc))
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
        """Process every message a crash left ``received``, in batches; returns how many ran."""
        pending = self.inbox.list("received", limit=limit)
        for start in range(0, len(pending), self.max_batch):
            chunk = pending[start : start + self.max_batch]
            for id, outcome in self._process_group(self.service, chunk).items():
                if isinstance(outcome, BaseException):
                    log.warning("message %s still pending: %s", id, outcome)
        return len(pending)

    def close(self) -> None:
        """Finish the queued deliveries, stop the worker, close the inbox."""
        with self._batcher_lock:
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.stop()
        self.inbox.close()
