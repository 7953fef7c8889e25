"""The requests inside a batch or transaction Bundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.definitions import resource_types
from fhir_server.errors import FhirError, InvalidRequest, TooCostly, UnsupportedParameter

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}


@dataclass(slots=True)
class EntryRequest:
    """One entry's request, its URL taken apart.

    Attributes:
        index: position in the Bundle.
        method: the HTTP method.
        type: the resource type the URL names.
        id: the logical id in the URL, if any.
        version: the version in a ``_history`` URL, if any.
        query: search pairs of a conditional or search URL.
        full_url: the entry's fullUrl (``urn:uuid:...`` or absolute).
        resource: the entry's resource.
        if_none_exist: the search query of ``request.ifNoneExist``.
        if_match: the version of ``request.ifMatch``.
        assigned_id: the id given to a created resource.
        matched: a conditional create found ``assigned_id`` already existing.
        fresh: ``assigned_id`` is a new server id of a conditional update that matched
            nothing, so the entry creates without reading first.
        error: a problem found while parsing (batch only; a transaction raises).
    """

    index: int
    method: str
    type: str = ""
    id: str | None = None
    version: str | None = None
    query: list[tuple[str, str]] = field(default_factory=list)
    full_url: str | None = None
    resource: Any = None
    if_none_exist: str | None = None
    if_match: int | None = None
    assigned_id: str | None = None
    matched: bool = False
    fresh: bool = False
    error: FhirError | None = None


def _split_url(url: str) -> tuple[list[str], str]:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for position, segment in enumerate(segments):
        if segment in resource_types():
            return segments[position:], parts.query
    raise InvalidRequest(f"request.url {url!r} names no known resource type")


def _if_none_exist(value: Any, resource_type: str) -> str | None:
    """The search query of ``request.ifNoneExist``.

    R4 defines it as the part after the "?"; published R4 examples (Bundle "xds") also write
    ``Patient?identifier=...``, so a leading "?" or "[type]?" of the entry's type is dropped.
    """
    if value is None:
        return None
    text = str(value)
    prefix, separator, query = text.partition("?")
    return query if separator and prefix in ("", resource_type) else text


def _if_match(value: Any) -> int | None:
    if value is None:
        return None
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if not digits:
        raise InvalidRequest(f"Malformed ifMatch {value!r}")
    return int(digits)


def parse_entry(index: int, raw: Any) -> EntryRequest:
    """Take one Bundle entry apart; InvalidRequest when it is malformed."""
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise InvalidRequest("Every entry needs a request")
    request = raw["request"]
    method = str(request.get("method", "")).upper()
    if method not in _METHODS:
        raise InvalidRequest(f"Unsupported request.method {request.get('method')!r}")
    segments, query = _split_url(str(request.get("url", "")))
    operation = next((s for s in segments if s.startswith("$")), None)
    if operation is not None:
        raise UnsupportedParameter(
            f"Operations ({operation}) are not supported inside a Bundle; call them directly",
            code="operation-in-bundle",
        )
    entry = EntryRequest(index, method, segments[0], full_url=raw.get("fullUrl"))
    entry.resource = raw.get("resource")
    entry.query = parse_qsl(query, keep_blank_values=True)
    if len(segments) >= 2:
        entry.id = segments[1]
    if len(segments) == 4 and segments[2] == "_history":
        entry.version = segments[3]
    entry.if_none_exist = _if_none_exist(request.get("ifNoneExist"), entry.type)
    entry.if_match = _if_match(request.get("ifMatch"))
    if method in ("POST", "PUT", "PATCH") and not isinstance(entry.resource, dict):
        raise InvalidRequest(f"A {method} entry needs a resource")
    if method == "POST" and entry.id is not None:
        raise InvalidRequest("A POST entry's url names a type, not an instance")
    return entry


def parse_entries(bundle: Any, expected: str, max_entries: int) -> list[EntryRequest]:
    """The entries of a batch or transaction Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidRequest("The body must be a Bundle")
    if bundle.get("type") != expected:
        raise InvalidRequest(f"Bundle.type must be {expected!r}")
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise InvalidRequest("Bundle.entry must be an array")
    if len(raw_entries) > max_entries:
        raise TooCostly(f"The Bundle has {len(raw_entries)} entries; the limit is {max_entries}")
    entries = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(parse_entry(index, raw))
        except FhirError as exc:
            if expected == "transaction":
                exc.diagnostics = f"Bundle.entry[{index}]: {exc.diagnostics}"
                raise
            entries.append(EntryRequest(index, "GET", error=exc))
    return entries
