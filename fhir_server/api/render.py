"""Rendering stored versions: raw bytes on the fast path, ``_summary``/``_elements`` otherwise."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from conformance.summary import select_elements, summarize
from fhir_server.api.context import is_pretty
from fhir_server.api.responses import FhirResponse, dump, version_response_of
from fhir_server.core.ports import StoredVersion
from fhir_server.errors import InvalidRequest

_SUMMARY_MODES = {"true", "false", "text", "data", "count"}


def summary_mode(request: Request) -> str | None:
    """The ``_summary`` mode, validated."""
    mode = request.query_params.get("_summary")
    if mode is not None and mode not in _SUMMARY_MODES:
        raise InvalidRequest(f"Unknown _summary mode {mode!r}", expression=["_summary"])
    return mode


def elements(request: Request) -> list[str] | None:
    """The ``_elements`` list, if given."""
    raw = request.query_params.get("_elements")
    if raw is None:
        return None
    return [e.strip() for e in raw.split(",") if e.strip()]


def transform(resource: dict[str, Any], request: Request) -> dict[str, Any]:
    """Apply ``_summary`` and ``_elements`` to one resource."""
    mode = summary_mode(request)
    if mode and mode not in ("false", "count"):
        return summarize(resource, mode)
    names = elements(request)
    if names is not None:
        return select_elements(resource, names)
    return resource


def needs_transform(request: Request) -> bool:
    """True unless the stored bytes can be sent as they are."""
    if not request.scope.get("query_string"):  # the usual read: no parameters to parse
        return False
    params = request.query_params
    return "_summary" in params or "_elements" in params or is_pretty(request)


def resource_bytes(version: StoredVersion, request: Request) -> bytes:
    """The body for one stored version, honouring ``_summary``, ``_elements``, ``_pretty``."""
    assert version.content is not None
    if not needs_transform(request):
        return version.content
    return dump(transform(version.resource(), request), pretty=is_pretty(request))


def resource_fragment(version: StoredVersion, request: Request) -> Any:
    """The resource for embedding in a Bundle (pre-serialized when possible)."""
    assert version.content is not None
    if needs_transform(request):
        return transform(version.resource(), request)
    return orjson.Fragment(version.content)


def version_response(version: StoredVersion, request: Request, status: int = 200) -> FhirResponse:
    """A read/vread style response for one version."""
    return version_response_of(resource_bytes(version, request), version, status)
