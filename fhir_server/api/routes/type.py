"""Type-level interactions. https://hl7.org/fhir/R4/http.html#create"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from fhir_server.api.bodies import patch_body, resource_body
from fhir_server.api.context import app_context, is_pretty, service_for
from fhir_server.api.headers import parse_condition, parse_if_match
from fhir_server.api.history import history_response
from fhir_server.api.negotiation import FORM_TYPE, media_type, read_body
from fhir_server.api.outcome import operation_outcome
from fhir_server.api.responses import FhirResponse, dump
from fhir_server.api.search import search_params, search_response
from fhir_server.api.writes import write_response
from fhir_server.core.ports import HistoryQuery
from fhir_server.core.resources import check_resource, check_type
from fhir_server.errors import InvalidRequest, Issue, PreconditionFailed, UnsupportedMediaType

router = APIRouter()


def _condition(request: Request) -> list[tuple[str, str]]:
    pairs = search_params(request.query_params.multi_items())
    if not pairs:
        raise PreconditionFailed("A conditional interaction needs search parameters in the URL")
    return pairs


@router.get("/{resource_type}/_history")
def history_type(resource_type: str, request: Request) -> Response:
    """The versions of every resource of one type, newest first."""
    return history_response(request, HistoryQuery(resource_type=resource_type))


@router.get("/{resource_type}")
def search_type(resource_type: str, request: Request) -> Response:
    """Search one type (GET)."""
    check_type(resource_type)
    pairs = request.query_params.multi_items()
    return search_response(request, [resource_type], pairs, f"/{resource_type}")


async def _form(request: Request) -> list[tuple[str, str]]:
    kind = media_type(request)
    if kind and kind != FORM_TYPE:
        raise UnsupportedMediaType(f"POST _search needs {FORM_TYPE}, not {kind!r}")
    body = await read_body(request, app_context(request).settings.max_body_bytes)
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


@router.post("/{resource_type}/_search")
def search_type_post(
    resource_type: str, request: Request, form: Annotated[list[tuple[str, str]], Depends(_form)]
) -> Response:
    """Search one type (POST with a form body)."""
    check_type(resource_type)
    pairs = [*request.query_params.multi_items(), *form]
    return search_response(request, [resource_type], pairs, f"/{resource_type}")


@router.post("/{resource_type}")
def create(
    resource_type: str, request: Request, body: Annotated[Any, Depends(resource_body)]
) -> Response:
    """Create; conditional with If-None-Exist, or with search parameters in the URL."""
    service = service_for(request)
    condition = _create_condition(request)
    if condition is not None:
        outcome = service.create_conditional(body, resource_type, condition)
    else:
        outcome = service.create(body, resource_type)
    return write_response(request, outcome)


_RESPONSE_PARAMS = frozenset({"_format", "_pretty", "_summary", "_elements"})


def _create_condition(request: Request) -> list[tuple[str, str]] | None:
    """The If-None-Exist condition, or the search parameters of ``POST [type]?params``.

    R4 puts the condition of a conditional create in If-None-Exist; clients such as fhirpy
    put it in the URL instead. Ignoring it would create the duplicate the client meant to
    avoid, so it is honoured the same way.
    """
    header = request.headers.get("if-none-exist")
    in_url = [(k, v) for k, v in request.query_params.multi_items() if k not in _RESPONSE_PARAMS]
    if header is not None and in_url:
        raise InvalidRequest("Give a create's condition in If-None-Exist or in the URL, not both")
    if header is not None:
        return parse_condition(header)
    return in_url or None


@router.put("/{resource_type}")
def update_conditional(
    resource_type: str, request: Request, body: Annotated[Any, Depends(resource_body)]
) -> Response:
    """Conditional update."""
    check_type(resource_type)
    if_match = parse_if_match(request.headers.get("if-match"))
    service = service_for(request)
    outcome = service.update_conditional(
        body, resource_type, _condition(request), if_match=if_match
    )
    return write_response(request, outcome)


@router.delete("/{resource_type}")
def delete_conditional(resource_type: str, request: Request) -> Response:
    """Conditional delete (single match)."""
    check_type(resource_type)
    service_for(request).delete_conditional(resource_type, _condition(request))
    return Response(status_code=204)


@router.patch("/{resource_type}")
def patch_conditional(
    resource_type: str, request: Request, body: Annotated[Any, Depends(patch_body)]
) -> Response:
    """Conditional patch: the single match of the URL's criteria is patched."""
    service = service_for(request)
    query, _ = service.parse([resource_type], _condition(request), strict=True)
    matches = service.search(query).entries
    if len(matches) != 1:
        raise PreconditionFailed(f"The condition matched {len(matches)} resources, not one")
    if_match = parse_if_match(request.headers.get("if-match"))
    outcome = service.patch(body, resource_type, matches[0].id, if_match=if_match)
    return write_response(request, outcome)


@router.post("/{resource_type}/$validate")
def validate(
    resource_type: str, request: Request, body: Annotated[Any, Depends(resource_body)]
) -> Response:
    """``$validate``: an OperationOutcome saying whether the resource is valid."""
    check_type(resource_type)
    resource = body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        resource = next(
            (p.get("resource") for p in body.get("parameter", []) if p.get("name") == "resource"),
            None,
        )
    try:
        check_resource(resource, resource_type)
    except InvalidRequest as exc:
        return FhirResponse(dump(operation_outcome(exc.issues()), pretty=is_pretty(request)))
    ok = Issue("information", "informational", "The resource is valid")
    return FhirResponse(dump(operation_outcome([ok]), pretty=is_pretty(request)))
