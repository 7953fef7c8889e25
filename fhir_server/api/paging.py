"""Paging parameters and Bundle links shared by search and history."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import Request

from fhir_server.api.context import app_context, fhir_base
from fhir_server.errors import InvalidRequest
from fhir_server.model.instant import format_instant

PAGING_PARAMS = ("_offset", "_snapshot")


def parse_instant(name: str, value: str) -> datetime:
    """A dateTime/instant query value (partial dates start at their first instant, UTC)."""
    text = value.strip()
    if len(text) == 4 and text.isdigit():
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name}: {value!r} is not a valid instant", expression=[name]
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def int_param(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """A non-negative integer query parameter."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise InvalidRequest(f"{name} must be a non-negative integer, not {raw!r}")
    value = int(raw)
    return min(value, maximum) if maximum is not None else value


def page_size(request: Request) -> int:
    """``_count``, clamped to the configured maximum."""
    settings = app_context(request).settings
    return int_param(request, "_count", settings.default_count, settings.max_count)


def page_url(request: Request, path: str, offset: int, snapshot: datetime | None) -> str:
    """The URL of the page at ``offset`` of the same query."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in PAGING_PARAMS]
    pairs.append(("_offset", str(offset)))
    if snapshot is not None:
        pairs.append(("_snapshot", format_instant(snapshot)))
    return f"{fhir_base(request)}{path}?{urlencode(pairs)}"


def links(
    request: Request, path: str, offset: int, count: int, more: bool, snapshot: datetime | None
) -> list[dict[str, str]]:
    """self, next and previous links of a page."""
    query = request.url.query
    self_url = f"{fhir_base(request)}{path}" + (f"?{query}" if query else "")
    out = [{"relation": "self", "url": self_url}]
    if more:
        out.append({"relation": "next", "url": page_url(request, path, offset + count, snapshot)})
    if offset > 0:
        previous = max(offset - count, 0)
        out.append({"relation": "previous", "url": page_url(request, path, previous, snapshot)})
    return out
