"""Rendering stored versions: raw bytes on the fast path, ``_summary``/``_elements`` otherwise."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from conformance.summary import select_elements, summarize
from fhir_server.api.context import is_pretty
from fhir_server.api.responses import FhirResponse, dump, version_response_of
from fhir_server.core.ports import StoredVersion
from fhir_server.errors import InvalidRequest
from fhir_server.model.instant import http_date

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


def read_response(version: StoredVersion, request: Request) -> Response:
    """The answer to a read or vread: 304 when the client's copy is current, else the version.

    Conditional read (https://hl7.org/fhir/R4/http.html#cread): ``If-None-Match`` naming the
    version's ETag, or, without it, ``If-Modified-Since`` not older than the version
    (HTTP dates have whole seconds), answers 304 Not Modified with the ETag and no body.
    """
    headers = request.headers
    etag = f'W/"{version.version_id}"'
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if "*" in tags or etag.removeprefix("W/") in tags:
            return _not_modified(version)
    elif (since := _http_date(headers.get("if-modified-since"))) is not None and (
        version.last_updated.replace(microsecond=0) <= since
    ):
        return _not_modified(version)
    return version_response(version, request)


def _not_modified(version: StoredVersion) -> Response:
    return Response(
        status_code=304,
        headers={
            "ETag": f'W/"{version.version_id}"',
            "Last-Modified": http_date(version.last_updated),
        },
    )


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None
