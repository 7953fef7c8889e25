"""Instance-level interactions. https://hl7.org/fhir/R4/http.html#read"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from fhir_server.api.bodies import patch_body, resource_body
from fhir_server.api.context import service_for
from fhir_server.api.headers import parse_if_match
from fhir_server.api.history import history_response
from fhir_server.api.render import read_response
from fhir_server.api.writes import write_response
from fhir_server.core.ports import HistoryQuery

router = APIRouter()


@router.api_route("/{resource_type}/{id}", methods=["GET", "HEAD"])
def read(resource_type: str, id: str, request: Request) -> Response:
    """Read the current version."""
    version = service_for(request).read(resource_type, id)
    return read_response(version, request)


@router.api_route("/{resource_type}/{id}/_history/{version_id}", methods=["GET", "HEAD"])
def vread(resource_type: str, id: str, version_id: str, request: Request) -> Response:
    """Read one version."""
    version = service_for(request).vread(resource_type, id, version_id)
    return read_response(version, request)


@router.put("/{resource_type}/{id}")
def update(
    resource_type: str,
    id: str,
    request: Request,
    body: Annotated[Any, Depends(resource_body)],
) -> Response:
    """Update (or create with the client's id)."""
    if_match = parse_if_match(request.headers.get("if-match"))
    outcome = service_for(request).update(body, resource_type, id, if_match=if_match)
    return write_response(request, outcome)


@router.patch("/{resource_type}/{id}")
def patch(
    resource_type: str,
    id: str,
    request: Request,
    body: Annotated[Any, Depends(patch_body)],
) -> Response:
    """Apply a JSON Patch."""
    if_match = parse_if_match(request.headers.get("if-match"))
    outcome = service_for(request).patch(body, resource_type, id, if_match=if_match)
    return write_response(request, outcome)


@router.delete("/{resource_type}/{id}")
def delete(resource_type: str, id: str, request: Request) -> Response:
    """Logical delete: later reads give 410 Gone."""
    deleted = service_for(request).delete(resource_type, id)
    headers = {"ETag": f'W/"{deleted.version_id}"'} if deleted else {}
    return Response(status_code=204, headers=headers)


@router.get("/{resource_type}/{id}/_history")
def history_instance(resource_type: str, id: str, request: Request) -> Response:
    """The versions of one resource, newest first."""
    return history_response(request, HistoryQuery(resource_type=resource_type, id=id))
