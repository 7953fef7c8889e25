"""FastAPI dependencies that read request bodies (async, before the sync handler runs)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from fhir_server.api.context import app_context
from fhir_server.api.negotiation import MERGE_PATCH_TYPE, PATCH_TYPE, json_body, media_type
from fhir_server.errors import InvalidRequest


async def resource_body(request: Request) -> Any:
    """A FHIR JSON resource body."""
    return await json_body(request, app_context(request).settings.max_body_bytes)


async def patch_body(request: Request) -> Any:
    """A PATCH body. https://hl7.org/fhir/R4/http.html#patch

    JSON Patch is an array (``application/json-patch+json``); FHIRPath Patch is a
    ``Parameters`` resource (``application/fhir+json``); any other object is a JSON Merge
    Patch (``application/merge-patch+json``, or a partial resource sent as JSON).
    """
    limit = app_context(request).settings.max_body_bytes
    body = await json_body(request, limit, allow_patch=True)
    kind = media_type(request)
    if kind == PATCH_TYPE and not isinstance(body, list):
        raise InvalidRequest("An application/json-patch+json body must be an array of operations")
    if kind == MERGE_PATCH_TYPE and not isinstance(body, dict):
        raise InvalidRequest("An application/merge-patch+json body must be a JSON object")
    return body
