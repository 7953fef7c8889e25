"""``GET /metadata``. https://hl7.org/fhir/R4/http.html#capabilities"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from fhir_server.api.context import app_context, fhir_base, is_pretty
from fhir_server.api.responses import FhirResponse, dump
from fhir_server.errors import MethodNotAllowed

router = APIRouter()


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """The CapabilityStatement."""
    statement = dict(app_context(request).capability)
    statement["implementation"] = {**statement["implementation"], "url": fhir_base(request)}
    return FhirResponse(dump(statement, pretty=is_pretty(request)))


@router.api_route("/metadata", methods=["POST", "PUT", "PATCH", "DELETE"])
def metadata_wrong_method(request: Request) -> Response:
    """Only GET is defined on the CapabilityStatement."""
    raise MethodNotAllowed(f"{request.method} is not allowed on /metadata; use GET")
