"""The template-driven device mapper plugin.

The first template (in load order) whose ``match`` expression is truthy for the payload
maps it; a ``match`` that cannot be evaluated on the payload (``keys(@)`` on a list) does
not match. A payload no template matches that is a JSON array is a batch: each element
is mapped by the first template matching it, into one transaction. The Device is found
or created by its identifier and linked to the Patient (``Device.patient``, unless the
template says ``link_patient: false``); the Patient is referenced by identifier following
the unknown-patient policy; a template without a ``patient`` section (or whose optional
patient identifier is absent) makes the Device the Observations' subject. A template
with ``records`` maps each record of the payload so (on ``{record, payload}``), into the
payload's transaction; an error in one is located ``records[index]``.

The message key is ``<template>|<message id>`` when the template has a ``message_id``
(followed by ``|sha256:<digest of the canonical JSON>`` with ``message_digest``), else the
transport's message key, else a hash of the payload. A batch whose elements all have one
is keyed by them (a batch of one element as that element alone).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MapContext,
    MappedMessage,
    MappingError,
    compact,
    content_key,
    create_once,
    patient_subject,
    reference,
)
from mappers.devices.loader import bundled_templates, load_directory
from mappers.devices.readings import Scope, observations, search
from mappers.devices.template import Template
from mappers.devices.timestamps import time_zone

Record = tuple[Template, Any]
"""One payload (or batch element) and the template that maps it."""


def _identifier(expression: str, root: Any) -> str | None:
    value = search(expression, root)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        return None
    return str(value).strip()


def _identity(expression: str, root: Any, system: str, where: str) -> IdentifierKey:
    value = _identifier(expression, root)
    if value is None:
        raise MappingError(
            f"no identifier at {expression!r}", code="required-missing", location=where
        )
    return IdentifierKey(system, value)


def _device(template: Template, root: Any, key: IdentifierKey, owner: JSON | None) -> JSON:
    spec = template.device
    model = search(spec.model, root) if spec.model else None
    resource = compact(
        {
            "resourceType": "Device",
            "status": "active",
            "manufacturer": spec.manufacturer,
            "modelNumber": str(model) if model is not None else None,
            "type": {"coding": [c.model_dump(exclude_none=True) for c in spec.type]},
            "patient": owner if spec.link_patient else None,
        }
    )
    return create_once(resource, key)


def _subject(
    template: Template, root: Any, ctx: MapContext
) -> tuple[JSON | None, tuple[JSON, ...]]:
    """The Observations' subject and placeholder entries; (None, ()) for the Device."""
    spec = template.patient
    if spec is None or (not spec.required and _identifier(spec.id, root) is None):
        return None, ()
    key = _identity(spec.id, root, spec.system, f"{template.name}.patient.id")
    return patient_subject(key, ctx)


def _in_element(index: int, exc: MappingError, prefix: str = "") -> MappingError:
    """The same error, located in element ``index`` of a batch (or of ``prefix``)."""
    where = f"{prefix}[{index}]" if exc.location is None else f"{prefix}[{index}].{exc.location}"
    return MappingError(exc.reason, code=exc.code, location=where)


def _zone(template: Template, root: Any) -> tuple[str, bool]:
    """The time zone of the payload's timestamps, and whether instants are written in it."""
    if template.timezone_from is None:
        return template.timezone, False
    where = f"{template.name}.timezone_from"
    return time_zone(search(template.timezone_from, root), where), True


def _contexts(template: Template, records: str, root: Any) -> list[JSON]:
    """The ``{record, payload}`` context of each record of the payload."""
    found = search(records, root)
    if found is None or found == []:
        raise MappingError(
            f"no records at {records!r}",
            code="required-missing",
            location=f"{template.name}.records",
        )
    elements = found if isinstance(found, list) else [found]
    return [{"record": element, "payload": root} for element in elements]


def _record_entries(template: Template, root: Any, ctx: MapContext) -> Iterator[JSON]:
    """The Device, Patient placeholder and Observation entries of one payload or record."""
    device_key = _identity(
        template.device.id, root, template.device.system, f"{template.name}.device.id"
    )
    subject, placeholder = _subject(template, root, ctx)
    yield from placeholder
    device = _device(template, root, device_key, subject)
    yield device
    reading_id = None
    if template.reading_id is not None:
        value = search(template.reading_id, root)
        reading_id = json.dumps(value, sort_keys=True, separators=(",", ":"))
    zone, localize = _zone(template, root)
    scope = Scope(
        template=template,
        root=root,
        device=device_key,
        device_reference=reference(device),
        subject=subject or reference(device),
        zone=zone,
        localize=localize,
        reading_id=reading_id,
    )
    yield from observations(scope)


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _record_key(template: Template, root: Any) -> str | None:
    message_id = search(template.message_id, root) if template.message_id else None
    if not message_id:
        return None
    key = f"{template.name}|{message_id}"
    return f"{key}|{_digest(root)}" if template.message_digest else key


class TemplateMapper:
    """Vendor JSON to FHIR through declarative templates."""

    name: ClassVar[str] = "device-templates"
    media_types: ClassVar[frozenset[str]] = frozenset({"application/json"})
    message_types: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, templates: Sequence[Template] | None = None) -> None:
        self.templates = tuple(bundled_templates() if templates is None else templates)

    @classmethod
    def from_directory(cls, directory: Path) -> TemplateMapper:
        """A mapper using every template file of ``directory``."""
        return cls(load_directory(directory))

    def _match(self, root: Any) -> Template | None:
        for template in self.templates:
            try:
                if search(template.match, root):
                    return template
            except MappingError:
                continue
        return None

    def template_for(self, root: Any) -> Template:
        """The first template matching ``root``; a MappingError when none does."""
        template = self._match(root)
        if template is None:
            raise MappingError(
                "no device template matches this payload", code="unsupported-message"
            )
        return template

    def _records(self, root: Any) -> list[Record]:
        """The payload with its template, or each element of a batch with its own.

        Raises:
            MappingError: when no template matches the payload or an element of it
                (located ``[index]``), or the batch is empty.
        """
        template = self._match(root)
        if template is not None:
            return [(template, root)]
        if not isinstance(root, list):
            return [(self.template_for(root), root)]  # raises: nothing matched
        if not root:
            raise MappingError("the payload is an empty list", code="required-missing")
        found = []
        for index, element in enumerate(root):
            try:
                found.append((self.template_for(element), element))
            except MappingError as exc:
                raise _in_element(index, exc) from exc
        return found

    def _key(self, records: list[Record]) -> str | None:
        keys = [_record_key(template, root) for template, root in records]
        if not all(keys):
            return None
        if len(keys) == 1:
            return keys[0]
        return f"batch|{_digest(keys)}"

    def message_key(self, payload: bytes) -> str | None:
        """``<template>|<vendor message id>`` when the matching template names an id.

        A batch has a key when every element has one: a hash of theirs, in order.
        """
        try:
            return self._key(self._records(json.loads(payload)))
        except (UnicodeDecodeError, ValueError, MappingError):
            return None

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Map one vendor JSON payload (or a batch of them); see the module docstring."""
        try:
            root = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MappingError(f"payload is not JSON: {exc}", code="malformed") from exc
        records = self._records(root)
        key = self._key(records) or ctx.message_key or content_key(payload)
        template, record = records[0]
        if record is root:
            return MappedMessage.build(key, self._entries(template, record, ctx))
        return MappedMessage.build(key, self._batch(records, ctx))

    def _batch(self, records: list[Record], ctx: MapContext) -> Iterator[JSON]:
        for index, (template, record) in enumerate(records):
            try:
                yield from self._entries(template, record, ctx)
            except MappingError as exc:
                raise _in_element(index, exc) from exc

    def _entries(self, template: Template, root: Any, ctx: MapContext) -> Iterator[JSON]:
        if template.records is None:
            yield from _record_entries(template, root, ctx)
            return
        for index, record in enumerate(_contexts(template, template.records, root)):
            try:
                yield from _record_entries(template, record, ctx)
            except MappingError as exc:
                raise _in_element(index, exc, "records") from exc
