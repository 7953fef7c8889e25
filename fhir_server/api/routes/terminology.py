"""Terminology operations. https://hl7.org/fhir/R4/terminology-service.html

``CodeSystem/$lookup``, ``CodeSystem[/{id}]/$validate-code``, ``ValueSet[/{id}]/$expand``,
``ValueSet[/{id}]/$validate-code`` and ``ConceptMap[/{id}]/$translate``, by GET (primitive
parameters in the URL) or POST (a ``Parameters`` body). The work is done by the
``terminology`` package; stored CodeSystems, ValueSets and ConceptMaps are read through
``service_for``, so the caller's access policy applies to them. Mount this router before
the instance routes, or ``/{type}/$op`` would read as a resource id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from fhir_server.api.bodies import resource_body
from fhir_server.api.context import is_pretty, service_for
from fhir_server.api.responses import json_response
from fhir_server.core.resources import ResourceService
from terminology import expansion, lookup, translate, validate
from terminology.params import Inputs, Signature
from terminology.registry import Registry

router = APIRouter()
JSON = dict[str, Any]
Operation = Callable[[Registry, Inputs, JSON | None], JSON]


class StoredTerminology:
    """The stored terminology resources, through the caller's resource service."""

    def __init__(self, service: ResourceService) -> None:
        """Read and search through ``service``."""
        self.service = service

    def read(self, resource_type: str, id: str) -> JSON:
        """The current version of a stored resource."""
        return self.service.read(resource_type, id).resource()

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> list[JSON]:
        """One page of a search."""
        query, _ = self.service.parse([resource_type], list(params), strict=True)
        return [version.resource() for version in self.service.search(query).entries]


async def _body(request: Request) -> Any:
    """The Parameters body of a POST; None for a GET."""
    return await resource_body(request) if request.method == "POST" else None


Body = Annotated[Any, Depends(_body)]


def _run(
    request: Request,
    body: Any,
    signature: Signature,
    operation: Operation,
    instance: tuple[str, str] | None = None,
) -> Response:
    pairs = request.query_params.multi_items()
    if body is None:
        inputs = Inputs.from_query(signature, pairs)
    else:
        inputs = Inputs.from_body(signature, body, pairs)
    registry = Registry(StoredTerminology(service_for(request)))
    resource = registry.read(*instance) if instance else None
    return json_response(operation(registry, inputs, resource), pretty=is_pretty(request))


def _lookup(registry: Registry, inputs: Inputs, _instance: JSON | None) -> JSON:
    return lookup.lookup(registry, inputs)


_GET_POST = ["GET", "POST"]


@router.api_route("/CodeSystem/$lookup", methods=_GET_POST)
def code_system_lookup(request: Request, body: Body) -> Response:
    """``$lookup``: the details of a concept."""
    return _run(request, body, lookup.SIGNATURE, _lookup)


@router.api_route("/CodeSystem/$validate-code", methods=_GET_POST)
def code_system_validate_code(request: Request, body: Body) -> Response:
    """``$validate-code`` against a code system given by url."""
    signature = validate.CODE_SYSTEM_SIGNATURE
    return _run(request, body, signature, validate.validate_code_system)


@router.api_route("/CodeSystem/{id}/$validate-code", methods=_GET_POST)
def code_system_instance_validate_code(id: str, request: Request, body: Body) -> Response:
    """``$validate-code`` against a stored code system."""
    signature = validate.CODE_SYSTEM_SIGNATURE
    return _run(request, body, signature, validate.validate_code_system, ("CodeSystem", id))


@router.api_route("/ValueSet/$expand", methods=_GET_POST)
def value_set_expand(request: Request, body: Body) -> Response:
    """``$expand`` of a value set given by url (or in the body)."""
    return _run(request, body, expansion.SIGNATURE, expansion.expand)


@router.api_route("/ValueSet/{id}/$expand", methods=_GET_POST)
def value_set_instance_expand(id: str, request: Request, body: Body) -> Response:
    """``$expand`` of a stored value set."""
    return _run(request, body, expansion.SIGNATURE, expansion.expand, ("ValueSet", id))


@router.api_route("/ValueSet/$validate-code", methods=_GET_POST)
def value_set_validate_code(request: Request, body: Body) -> Response:
    """``$validate-code`` against a value set given by url (or in the body)."""
    signature = validate.VALUE_SET_SIGNATURE
    return _run(request, body, signature, validate.validate_value_set)


@router.api_route("/ValueSet/{id}/$validate-code", methods=_GET_POST)
def value_set_instance_validate_code(id: str, request: Request, body: Body) -> Response:
    """``$validate-code`` against a stored value set."""
    signature = validate.VALUE_SET_SIGNATURE
    return _run(request, body, signature, validate.validate_value_set, ("ValueSet", id))


@router.api_route("/ConceptMap/$translate", methods=_GET_POST)
def concept_map_translate(request: Request, body: Body) -> Response:
    """``$translate`` with a map given by url, in the body, or found by system."""
    return _run(request, body, translate.SIGNATURE, translate.translate)


@router.api_route("/ConceptMap/{id}/$translate", methods=_GET_POST)
def concept_map_instance_translate(id: str, request: Request, body: Body) -> Response:
    """``$translate`` with a stored concept map."""
    return _run(request, body, translate.SIGNATURE, translate.translate, ("ConceptMap", id))
