"""Search Bundles. https://hl7.org/fhir/R4/search.html"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import Request
from starlette.responses import Response

from fhir_server.api.context import fhir_base, is_pretty, service_for
from fhir_server.api.headers import parse_prefer
from fhir_server.api.outcome import operation_outcome
from fhir_server.api.paging import PAGING_PARAMS, int_param, links, parse_instant
from fhir_server.api.render import resource_fragment, summary_mode
from fhir_server.api.responses import FhirResponse, dump
from fhir_server.core.ports import StoredVersion
from fhir_server.model.instant import format_instant, now
from fhir_server.search.ir import AllOf, Term

HTTP_ONLY = {*PAGING_PARAMS, "_format", "_pretty", "_summary", "_elements"}


def search_params(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs that the search parser sees (HTTP-level parameters removed)."""
    return [(k, v) for k, v in pairs if k not in HTTP_ONLY]


def _entry(version: StoredVersion, request: Request, base: str, mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{version.resource_type}/{version.id}",
        "resource": resource_fragment(version, request),
        "search": {"mode": mode},
    }


def search_response(
    request: Request,
    resource_types: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    path: str,
    scope: Term | None = None,
) -> Response:
    """Parse, run and render a search as a ``searchset`` Bundle response."""
    bundle = searchset(request, resource_types, pairs, path, scope)
    return FhirResponse(dump(bundle, pretty=is_pretty(request)))


def searchset(
    request: Request,
    resource_types: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    path: str,
    scope: Term | None = None,
) -> dict[str, Any]:
    """Parse, run and build a ``searchset`` Bundle.

    ``scope`` is a filter every match must also satisfy (a compartment).
    """
    service = service_for(request)
    strict = parse_prefer(request.headers.get("prefer")).strict
    query, issues = service.parse(resource_types, search_params(pairs), strict=strict)
    if scope is not None:
        query = replace(query, where=AllOf((*query.where.terms, scope)))
    params = request.query_params
    snapshot = parse_instant("_snapshot", params["_snapshot"]) if "_snapshot" in params else now()
    count_only = summary_mode(request) == "count"
    query = replace(
        query,
        offset=int_param(request, "_offset", 0),
        snapshot=snapshot,
        count=0 if count_only else query.count,
        total="accurate" if count_only else query.total,
    )
    page = service.search(query)
    base = fhir_base(request)
    entries = [_entry(v, request, base, "match") for v in page.entries]
    entries += [_entry(v, request, base, "include") for v in page.included]
    if issues:
        outcome = operation_outcome(issues)
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    more = (
        query.count > 0
        and len(page.entries) == query.count
        and (page.total is None or query.offset + query.count < page.total)
    )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(now())},
        "type": "searchset",
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links(request, path, query.offset, query.count, more, snapshot)
    if entries:  # FHIR arrays are never empty
        bundle["entry"] = entries
    return bundle
