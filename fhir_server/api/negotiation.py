"""Content negotiation and request bodies. https://hl7.org/fhir/R4/http.html#mime-type

JSON only: ``application/fhir+json`` and ``application/json`` in and out; XML gets 406 (out)
or 415 (in), as the CapabilityStatement says.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from fhir_server.api.outcome import operation_outcome
from fhir_server.api.responses import json_response
from fhir_server.errors import InvalidRequest, NotAcceptable, PayloadTooLarge, UnsupportedMediaType

_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir"}
_ANY = {"*/*", "application/*"}
PATCH_TYPE = "application/json-patch+json"
MERGE_PATCH_TYPE = "application/merge-patch+json"
FORM_TYPE = "application/x-www-form-urlencoded"


def check_accept(request: Request) -> None:
    """Raise NotAcceptable unless the client accepts FHIR JSON."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        fmt = fmt.replace(" ", "+")  # an unencoded "+" (application/fhir+json) reads as a space
        if fmt.split(";")[0].strip().lower() not in _JSON_FORMATS:
            raise NotAcceptable(f"_format {fmt!r} is not supported; this server speaks JSON")
        return
    accept = request.headers.get("accept")
    if not accept:
        return
    if not any(_acceptable(part) for part in accept.split(",")):
        raise NotAcceptable(
            f"Accept {accept!r} is not supported; use application/fhir+json (FHIR 4.0)"
        )


def _acceptable(media_range: str) -> bool:
    """A media range we can answer: JSON (or a wildcard) without another ``fhirVersion``.

    https://hl7.org/fhir/R4/http.html#version-parameter
    """
    kind, *params = (p.strip().lower() for p in media_range.split(";"))
    if kind and kind not in _JSON_TYPES | _ANY:
        return False
    versions = [p.partition("=")[2].strip('"') for p in params if p.startswith("fhirversion=")]
    return all(v == "4.0" or v.startswith("4.0.") for v in versions)


class NegotiationMiddleware:
    """Pure ASGI middleware answering 406 before routing when FHIR JSON is not acceptable.

    A plain ASGI wrapper (not ``BaseHTTPMiddleware``): no extra task, stream or body copy
    per request (docs/adr/0005-rest-hot-path.md).
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        """Wrap ``app``; only paths under ``prefix`` are checked."""
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check ``Accept``/``_format`` of HTTP requests under the prefix, then pass on."""
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            try:
                check_accept(Request(scope))
            except NotAcceptable as exc:
                response = json_response(operation_outcome(exc.issues()), exc.status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def media_type(request: Request) -> str:
    """The request body's media type without parameters (lower-cased)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; malformed JSON is a 400."""
    if not body.strip():
        raise InvalidRequest("The request body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}", code="malformed-json") from exc


async def json_body(request: Request, limit: int, *, allow_patch: bool = False) -> Any:
    """Read and parse a FHIR JSON (or JSON Patch) body after checking its media type."""
    kind = media_type(request)
    allowed = _JSON_TYPES | ({PATCH_TYPE, MERGE_PATCH_TYPE} if allow_patch else set())
    if kind and kind not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type {kind!r} is not supported; use application/fhir+json"
        )
    return parse_json(await read_body(request, limit))
