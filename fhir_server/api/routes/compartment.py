"""Compartment search. https://hl7.org/fhir/R4/http.html#vsearch

``GET [base]/Patient/[id]/[type]?...`` searches ``type`` within the patient's compartment
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html); ``*`` searches every type
that has a place in it (narrowed by ``_type``). Patient is the only compartment defined.
``GET [base]/Patient/[id]/$everything`` is that ``*`` search with the operation's
parameters (https://hl7.org/fhir/R4/patient-operation-everything.html).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from fhir_server.api.context import service_for
from fhir_server.api.search import search_response
from fhir_server.core.resources import check_type
from fhir_server.errors import InvalidRequest, NotFound, UnsupportedParameter
from fhir_server.search.compartment import (
    patient_compartment_params,
    patient_compartment_term,
    patient_compartment_types,
)

router = APIRouter()
_CARE_DATES = ("start", "end")


@router.get("/Patient/{id}/$everything")
def patient_everything(id: str, request: Request) -> Response:
    """The patient and every resource in its compartment, paged (``_count``).

    ``_since`` keeps what changed since an instant, ``_type`` narrows the types. ``start``
    and ``end`` (care dates) are refused: which date of each type is its care date is not
    defined by R4, and guessing would leave records out.
    """
    service_for(request).read("Patient", id)  # 404, or 410 for a deleted patient
    pairs: list[tuple[str, str]] = []
    for key, value in request.query_params.multi_items():
        if key in _CARE_DATES:
            raise UnsupportedParameter(f"$everything: {key} (care dates) is not supported")
        pairs.append(("_lastUpdated", f"ge{value}") if key == "_since" else (key, value))
    return _compartment_search(request, id, "*", pairs, f"/Patient/{id}/$everything")


@router.get("/{compartment}/{id}/{resource_type}")
def search_compartment(compartment: str, id: str, resource_type: str, request: Request) -> Response:
    """Search one type (or ``*``) in the compartment of ``compartment/id``."""
    check_type(compartment)
    if compartment != "Patient":
        raise NotFound(f"No {compartment} compartment is defined", code="unknown-compartment")
    path = f"/{compartment}/{id}/{resource_type}"
    return _compartment_search(request, id, resource_type, request.query_params.multi_items(), path)


def _compartment_search(
    request: Request, id: str, resource_type: str, pairs: list[tuple[str, str]], path: str
) -> Response:
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
    return search_response(request, types, pairs, path, scope)
