"""FastAPI dependencies that read request bodies (async, before the sync handler runs)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from fhir_server.api.context import app_context
from fhir_server.api.negotiation import json_body


async def resource_body(request: Request) -> Any:
    """A FHIR JSON resource body."""
    return await json_body(request, app_context(request).settings.max_body_bytes)


async def patch_body(request: Request) -> Any:
    """A JSON Patch (or FHIR JSON) body."""
    limit = app_context(request).settings.max_body_bytes
    return await json_body(request, limit, allow_patch=True)
