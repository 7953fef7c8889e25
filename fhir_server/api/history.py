"""History Bundles. https://hl7.org/fhir/R4/http.html#history"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from fastapi import Request
from starlette.responses import Response

from fhir_server.api.context import fhir_base, is_pretty, service_for
from fhir_server.api.paging import int_param, links, page_size, parse_instant
from fhir_server.api.render import resource_fragment
from fhir_server.api.responses import FhirResponse, dump
from fhir_server.core.ports import HistoryQuery, StoredVersion
from fhir_server.model.instant import format_instant, http_date, now


def _entry(version: StoredVersion, request: Request, base: str) -> dict[str, Any]:
    url = f"{base}/{version.resource_type}/{version.id}"
    entry: dict[str, Any] = {"fullUrl": url}
    if not version.deleted:
        entry["resource"] = resource_fragment(version, request)
    method = "PUT" if version.method == "PATCH" else version.method
    request_url = f"{version.resource_type}" if method == "POST" else url[len(base) + 1 :]
    status = {"POST": "201 Created", "DELETE": "204 No Content"}.get(method, "200 OK")
    entry["request"] = {"method": method, "url": request_url}
    entry["response"] = {
        "status": status,
        "etag": f'W/"{version.version_id}"',
        "lastModified": format_instant(version.last_updated),
    }
    return entry


def history_response(request: Request, query: HistoryQuery) -> Response:
    """Run a history query and answer with a ``history`` Bundle."""
    params = request.query_params
    snapshot = parse_instant("_snapshot", params["_snapshot"]) if "_snapshot" in params else now()
    query = replace(
        query,
        since=parse_instant("_since", params["_since"]) if "_since" in params else None,
        at=parse_instant("_at", params["_at"]) if "_at" in params else None,
        until=snapshot,
        count=page_size(request),
        offset=int_param(request, "_offset", 0),
    )
    page = service_for(request).history(query)
    base = fhir_base(request)
    path = request.url.path[request.url.path.find("/fhir") + len("/fhir") :]
    more = page.total is not None and query.offset + len(page.entries) < page.total
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(now())},
        "type": "history",
        "total": page.total,
        "link": links(request, path, query.offset, query.count, more, snapshot),
        "entry": [_entry(v, request, base) for v in page.entries],
    }
    for empty in ("total", "entry"):  # FHIR has no null and no empty array
        if bundle[empty] in (None, []):
            del bundle[empty]
    headers = {"Last-Modified": http_date(snapshot)}
    return FhirResponse(dump(bundle, pretty=is_pretty(request)), headers=headers)
