"""The template-driven device mapper plugin.

The first template (in load order) whose ``match`` expression is truthy for the payload
maps it. The Device is found or created by its identifier and linked to the Patient
(``Device.patient``); the Patient is referenced by identifier following the
unknown-patient policy; a template without a ``patient`` section makes the Device the
Observations' subject. The message key is the template's ``message_id``, else the
transport's message key, else a hash of the payload.
"""

from __future__ import annotations

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


def _identity(expression: str, root: Any, system: str, where: str) -> IdentifierKey:
    value = search(expression, root)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise MappingError(
            f"no identifier at {expression!r}", code="required-missing", location=where
        )
    return IdentifierKey(system, str(value).strip())


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
            "patient": owner,
        }
    )
    return create_once(resource, key)


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

    def template_for(self, root: Any) -> Template:
        """The first template matching ``root``; a MappingError when none does."""
        for template in self.templates:
            if search(template.match, root):
                return template
        raise MappingError("no device template matches this payload", code="unsupported-message")

    def message_key(self, payload: bytes) -> str | None:
        """``<template>|<vendor message id>`` when the matching template names an id."""
        try:
            root = json.loads(payload)
            template = self.template_for(root)
        except (UnicodeDecodeError, ValueError, MappingError):
            return None
        message_id = search(template.message_id, root) if template.message_id else None
        return f"{template.name}|{message_id}" if message_id else None

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        """Map one vendor JSON payload; see the module docstring."""
        try:
            root = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MappingError(f"payload is not JSON: {exc}", code="malformed") from exc
        template = self.template_for(root)
        message_id = search(template.message_id, root) if template.message_id else None
        key = (
            f"{template.name}|{message_id}"
            if message_id
            else ctx.message_key or content_key(payload)
        )
        return MappedMessage.build(key, self._entries(template, root, ctx))

    def _entries(self, template: Template, root: Any, ctx: MapContext) -> Iterator[JSON]:
        device_key = _identity(
            template.device.id, root, template.device.system, f"{template.name}.device.id"
        )
        subject: JSON | None = None
        if template.patient is not None:
            patient_key = _identity(
                template.patient.id, root, template.patient.system, f"{template.name}.patient.id"
            )
            subject, placeholder = patient_subject(patient_key, ctx)
            yield from placeholder
        device = _device(template, root, device_key, subject)
        yield device
        scope = Scope(template, root, device_key, reference(device), subject or reference(device))
        yield from observations(scope)
