"""Compartment search. https://hl7.org/fhir/R4/http.html#vsearch

``GET [base]/Patient/[id]/[type]?...`` searches ``type`` within the patient's compartment
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html); ``*`` searches every type
that has a place in it (narrowed by ``_type``). Patient is the only compartment defined.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from fhir_server.api.search import search_response
from fhir_server.core.resources import check_type
from fhir_server.errors import InvalidRequest, NotFound
from fhir_server.search.compartment import (
    patient_compartment_params,
    patient_compartment_term,
    patient_compartment_types,
)

router = APIRouter()


@router.get("/{compartment}/{id}/{resource_type}")
def search_compartment(compartment: str, id: str, resource_type: str, request: Request) -> Response:
    """Search one type (or ``*``) in the compartment of ``compartment/id``."""
    check_type(compartment)
    if compartment != "Patient":
        raise NotFound(f"No {compartment} compartment is defined", code="unknown-compartment")
    pairs = request.query_params.multi_items()
    if resource_type == "*":
        named = {t for k, v in pairs if k == "_type" for t in v.split(",") if t}
        types = tuple(t for t in patient_compartment_types() if not named or t in named)
        pairs = [(k, v) for k, v in pairs if k != "_type"]
        if not types:
            raise InvalidRequest("No type named in _type is in the Patient compartment")
    else:
        check_type(resource_type)
        if not patient_compartment_params(resource_type):
            raise NotFound(
                f"{resource_type} is not in the Patient compartment", code="not-in-compartment"
            )
        types = (resource_type,)
    scope = patient_compartment_term(types, id)
    return search_response(request, types, pairs, f"/{compartment}/{id}/{resource_type}", scope)
