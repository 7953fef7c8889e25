"""Responses to writes: status, Location, ETag and the ``Prefer: return`` body."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from fhir_server.api.context import fhir_base, is_pretty
from fhir_server.api.headers import parse_prefer
from fhir_server.api.outcome import operation_outcome
from fhir_server.api.render import resource_bytes
from fhir_server.api.responses import FhirResponse, dump, version_headers
from fhir_server.core.resources import Outcome
from fhir_server.errors import Issue


def location(request: Request, outcome: Outcome) -> str:
    """The versioned URL of the written version."""
    v = outcome.version
    return f"{fhir_base(request)}/{v.resource_type}/{v.id}/_history/{v.version_id}"


def write_response(request: Request, outcome: Outcome) -> Response:
    """201 for a creation, 200 otherwise; the body as ``Prefer: return`` asks."""
    status = 201 if outcome.created else 200
    headers = version_headers(outcome.version)
    headers["Location"] = location(request, outcome)
    headers["Content-Location"] = headers["Location"]
    prefer = parse_prefer(request.headers.get("prefer"))
    if prefer.returns == "minimal":
        return Response(status_code=status, headers=headers)
    if prefer.returns == "OperationOutcome":
        text = "Created" if outcome.created else "Updated"
        info = Issue("information", "informational", f"{text} {headers['Location']}")
        body = dump(operation_outcome([info]), pretty=is_pretty(request))
        return FhirResponse(body, status_code=status, headers=headers)
    return FhirResponse(resource_bytes(outcome.version, request), status, headers)
