"""System-level interactions: batch/transaction, history, search. https://hl7.org/fhir/R4/http.html#transaction"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from conformance.definitions import resource_types
from fhir_server.api.bodies import resource_body
from fhir_server.api.context import app_context, fhir_base, is_pretty, service_for
from fhir_server.api.history import history_response
from fhir_server.api.outcome import operation_outcome
from fhir_server.api.render import resource_fragment
from fhir_server.api.responses import FhirResponse, dump
from fhir_server.api.search import search_response, searchset
from fhir_server.core.bundles import EntryResult, batch, transaction
from fhir_server.core.ports import HistoryQuery
from fhir_server.errors import InvalidRequest, NotFound
from fhir_server.model.instant import format_instant

router = APIRouter()

_REASONS = {200: "OK", 201: "Created", 204: "No Content"}


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, '')}".strip()


def _render(request: Request, result: EntryResult) -> dict[str, Any]:
    response: dict[str, Any] = {"status": _status(result.status)}
    entry: dict[str, Any] = {}
    if result.error is not None:
        response["outcome"] = operation_outcome(result.error.issues())
    elif result.version is not None and not result.version.deleted:
        v = result.version
        url = f"{fhir_base(request)}/{v.resource_type}/{v.id}"
        entry["fullUrl"] = url
        entry["resource"] = resource_fragment(v, request)
        response["location"] = f"{url}/_history/{v.version_id}"
        response["etag"] = f'W/"{v.version_id}"'
        response["lastModified"] = format_instant(v.last_updated)
    elif result.search is not None:
        resource_type, pairs = result.search
        entry["resource"] = searchset(request, [resource_type], pairs, f"/{resource_type}")
    entry["response"] = response
    return entry


@router.post("/")
@router.post("")
def batch_or_transaction(
    request: Request, body: Annotated[Any, Depends(resource_body)]
) -> Response:
    """Process a batch or transaction Bundle."""
    context = app_context(request)
    kind = body.get("type") if isinstance(body, dict) else None
    limit = context.settings.max_bundle_entries
    if kind == "transaction":
        results = transaction(service_for(request), body, limit)
    elif kind == "batch":
        results = batch(service_for(request), body, limit)
    else:
        raise InvalidRequest("POST to the base URL takes a batch or transaction Bundle")
    bundle = {
        "resourceType": "Bundle",
        "type": f"{kind}-response",
        "entry": [_render(request, r) for r in results],
    }
    return FhirResponse(dump(bundle, pretty=is_pretty(request)))


@router.get("/_history")
def history_system(request: Request) -> Response:
    """Every version of every resource, newest first."""
    return history_response(request, HistoryQuery())


@router.get("/")
@router.get("")
def search_system(request: Request) -> Response:
    """Search across types (``_type`` limits the types)."""
    pairs = request.query_params.multi_items()
    named = [t for k, v in pairs if k == "_type" for t in v.split(",") if t]
    unknown = [t for t in named if t not in resource_types()]
    if unknown:
        raise NotFound(f"Unknown resource type(s) in _type: {', '.join(unknown)}")
    types = named or sorted(resource_types())
    rest = [(k, v) for k, v in pairs if k != "_type"]
    return search_response(request, types, rest, "")
