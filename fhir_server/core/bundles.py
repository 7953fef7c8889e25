"""Batch and transaction Bundles. https://hl7.org/fhir/R4/http.html#transaction

A transaction runs in one storage transaction: ids of POST entries are assigned first, every
``urn:uuid:`` and conditional reference is resolved, then entries run in the order DELETE,
POST, PUT/PATCH, GET. Any failing entry rolls everything back and the error names it. Batch
entries run independently, each in its own atomic unit.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from fhir_server.core.entries import EntryRequest, parse_entries
from fhir_server.core.ports import Page, StoredVersion
from fhir_server.core.references import rewrite_references
from fhir_server.core.resources import Outcome, ResourceService
from fhir_server.errors import FhirError, InvalidRequest, PreconditionFailed, VersionConflict
from fhir_server.model.ids import new_id
from fhir_server.search.ir import Query

_CONFLICT_RETRIES = 4
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_PLAIN_PARAM = re.compile(r"[a-z][a-z0-9-]*", re.IGNORECASE)
"""A search parameter name without modifier or chain, so that OR-ing its values is a union."""


@dataclass(slots=True)
class EntryResult:
    """What one entry did: an HTTP-like status plus the version, page or error."""

    status: int
    version: StoredVersion | None = None
    page: Page | None = None
    error: FhirError | None = None
    search: tuple[str, list[tuple[str, str]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _outcome_result(outcome: Outcome) -> EntryResult:
    return EntryResult(201 if outcome.created else 200, outcome.version)


def _patch_document(resource: Any) -> Any:
    """The patch of a PATCH entry.

    A FHIRPath Patch Parameters resource is used as it is; a JSON Patch comes in a Binary
    (the R4 way to send JSON Patch inside a Bundle).
    """
    if isinstance(resource, dict) and resource.get("resourceType") == "Binary":
        try:
            return orjson.loads(base64.b64decode(resource.get("data", "")))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise InvalidRequest("The Binary does not hold a JSON Patch") from exc
    return resource


def run_entry(svc: ResourceService, entry: EntryRequest) -> EntryResult:
    """Carry out one entry's request."""
    method, url = entry.method, entry
    if method in ("GET", "HEAD"):
        return _get(svc, entry)
    if method == "POST":
        if entry.matched and entry.assigned_id:
            return EntryResult(200, svc.read(url.type, entry.assigned_id))
        if entry.if_none_exist and not entry.assigned_id:
            condition = parse_qsl(entry.if_none_exist, keep_blank_values=True)
            return _outcome_result(svc.create_conditional(entry.resource, url.type, condition))
        return _outcome_result(svc.create(entry.resource, url.type, id=entry.assigned_id))
    if method == "PUT":
        if url.id is None:
            return _outcome_result(
                svc.update_conditional(entry.resource, url.type, url.query, if_match=entry.if_match)
            )
        if entry.fresh and entry.if_match is None:
            return _outcome_result(svc.create(entry.resource, url.type, id=url.id, method="PUT"))
        return _outcome_result(
            svc.update(entry.resource, url.type, url.id, if_match=entry.if_match)
        )
    if method == "PATCH":
        target = url.id or _single_match(svc, url.type, url.query).id
        patch = _patch_document(entry.resource)
        return _outcome_result(svc.patch(patch, url.type, target, if_match=entry.if_match))
    if url.id is None:
        svc.delete_conditional(url.type, url.query)
    else:
        svc.delete(url.type, url.id)
    return EntryResult(204)


def _get(svc: ResourceService, entry: EntryRequest) -> EntryResult:
    url = entry
    if url.id is None:
        return EntryResult(200, search=(url.type, url.query))
    if url.version is not None:
        return EntryResult(200, svc.vread(url.type, url.id, url.version))
    return EntryResult(200, svc.read(url.type, url.id))


def _single_match(svc: ResourceService, resource_type: str, query: list[tuple[str, str]]) -> Any:
    parsed, _ = svc.parse([resource_type], query, strict=True)
    matches = svc.search(Query(parsed.resource_types, parsed.where, count=2, total="none"))
    if len(matches.entries) != 1:
        raise PreconditionFailed(
            f"{resource_type}?{'&'.join(f'{k}={v}' for k, v in query)} matched"
            f" {len(matches.entries)} resources, not one"
        )
    return matches.entries[0]


def _condition(entry: EntryRequest) -> list[tuple[str, str]] | None:
    """The search condition of a conditional create or update entry."""
    if entry.method == "POST" and entry.if_none_exist:
        return parse_qsl(entry.if_none_exist, keep_blank_values=True)
    if entry.method == "PUT" and entry.id is None:
        return entry.query
    return None


def _unmatched(svc: ResourceService, entries: list[EntryRequest]) -> set[int]:
    """Indexes of conditional entries that match nothing, found with one search per group.

    The single-parameter conditions on one type and parameter (``identifier=s|v``: every
    mapped reading) are OR-ed into one search. When it finds nothing, none of them matches;
    when it finds something, each condition is searched on its own, as before.
    """
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for entry in entries:
        condition = _condition(entry)
        if condition and len(condition) == 1 and _PLAIN_PARAM.fullmatch(condition[0][0]):
            name, value = condition[0]
            if value:
                groups.setdefault((entry.type, name), []).append((entry.index, value))
    unmatched: set[int] = set()
    for (resource_type, name), items in groups.items():
        if len(items) < 2:
            continue
        try:
            values = ",".join(value for _, value in items)
            query, _ = svc.parse([resource_type], [(name, values)], strict=True)
        except FhirError:
            continue
        if not svc.search(Query(query.resource_types, query.where, count=1, total="none")).entries:
            unmatched.update(index for index, _ in items)
    return unmatched


def _assign_ids(svc: ResourceService, entries: list[EntryRequest]) -> dict[str, str]:
    """Ids for POST and conditional PUT entries, and the fullUrl -> reference map."""
    mapping: dict[str, str] = {}
    unmatched = _unmatched(svc, entries)
    for entry in entries:
        with _blame(entry):
            target = _assign_id(svc, entry, None if entry.index in unmatched else _condition(entry))
        if target is not None and entry.full_url:
            mapping[entry.full_url] = target
    return mapping


def _assign_id(
    svc: ResourceService, entry: EntryRequest, condition: list[tuple[str, str]] | None
) -> str | None:
    """The ``Type/id`` an entry will write, assigning ids to POST and conditional PUT."""
    if entry.method == "POST":
        entry.assigned_id = new_id()
        if condition is not None:
            existing = _conditional_match(svc, entry.type, condition)
            if existing is not None:
                entry.assigned_id, entry.matched = existing, True
        return f"{entry.type}/{entry.assigned_id}"
    if entry.method == "PUT" and entry.id is None:
        existing = None if condition is None else _conditional_match(svc, entry.type, condition)
        body_id = entry.resource.get("id") if isinstance(entry.resource, dict) else None
        entry.assigned_id = existing or body_id or new_id()
        entry.fresh = not (existing or body_id)
        return f"{entry.type}/{entry.assigned_id}"
    return None if entry.id is None else f"{entry.type}/{entry.id}"


@contextmanager
def _blame(entry: EntryRequest) -> Iterator[None]:
    """Name the entry in any FhirError raised while handling it."""
    try:
        yield
    except FhirError as exc:
        exc.diagnostics = f"Bundle.entry[{entry.index}]: {exc.diagnostics}"
        exc.expression = (f"Bundle.entry[{entry.index}]", *exc.expression)
        raise


def _conditional_match(
    svc: ResourceService, resource_type: str, query: list[tuple[str, str]]
) -> str | None:
    parsed, _ = svc.parse([resource_type], query, strict=True)
    page = svc.search(Query(parsed.resource_types, parsed.where, count=2, total="none"))
    if len(page.entries) > 1:
        raise PreconditionFailed(f"A condition on {resource_type} matched several resources")
    return page.entries[0].id if page.entries else None


def _resolver(svc: ResourceService, entries: list[EntryRequest], mapping: dict[str, str]) -> Any:
    resolved: dict[str, str] = {}

    def resolve(reference: str) -> str | None:
        if reference in mapping:
            return mapping[reference]
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            return None
        if "?" in reference and "/" not in reference.split("?", 1)[0]:
            if reference not in resolved:
                resolved[reference] = _conditional_reference(svc, entries, reference)
            return resolved[reference]
        return None

    return resolve


def _conditional_reference(
    svc: ResourceService, entries: list[EntryRequest], reference: str
) -> str:
    """``Type?query`` to ``Type/id``: exactly one match, stored or created by this Bundle."""
    resource_type, _, query_string = reference.partition("?")
    pairs = parse_qsl(query_string, keep_blank_values=True)
    query, _ = svc.parse([resource_type], pairs, strict=True)
    found = {e.id for e in svc.search(Query(query.resource_types, query.where, count=2)).entries}
    for entry in entries:
        target = entry.assigned_id or (entry.id if entry.method == "PUT" else None)
        if entry.type != resource_type or not target or entry.matched:
            continue
        if isinstance(entry.resource, dict) and svc.matches(
            {**entry.resource, "id": target}, query
        ):
            found.add(target)
    if len(found) != 1:
        raise PreconditionFailed(
            f"The conditional reference {reference} matched {len(found)} resources, not one",
            code="unresolved-reference" if not found else "ambiguous-reference",
        )
    return f"{resource_type}/{found.pop()}"


def transaction(svc: ResourceService, bundle: Any, max_entries: int) -> list[EntryResult]:
    """Run a transaction Bundle all-or-nothing; results come back in entry order.

    When a concurrent unit wins a write conflict (``write-conflict``: MongoDB aborts the
    loser; SQLite serialises and never does), nothing was stored and the whole Bundle runs
    again from its parsed text, a bounded number of times.
    """
    for _ in range(_CONFLICT_RETRIES - 1):
        try:
            return _transaction_once(svc, bundle, max_entries)
        except VersionConflict as exc:
            if exc.code != "write-conflict":
                raise
    return _transaction_once(svc, bundle, max_entries)


def _transaction_once(svc: ResourceService, bundle: Any, max_entries: int) -> list[EntryResult]:
    entries = parse_entries(bundle, "transaction", max_entries)
    results: list[EntryResult | None] = [None] * len(entries)
    with svc.transaction() as tx:
        mapping = _assign_ids(tx, entries)
        resolve = _resolver(tx, entries, mapping)
        for entry in entries:
            if entry.resource is not None:
                with _blame(entry):
                    entry.resource = rewrite_references(entry.resource, resolve)
            if entry.method == "PUT" and entry.id is None and isinstance(entry.resource, dict):
                entry.id, entry.query = entry.assigned_id, []
                entry.resource = {**entry.resource, "id": entry.assigned_id}
        for entry in sorted(entries, key=lambda e: _ORDER[e.method]):
            with _blame(entry):
                results[entry.index] = run_entry(tx, entry)
    return [r for r in results if r is not None]


def batch(svc: ResourceService, bundle: Any, max_entries: int) -> list[EntryResult]:
    """Run a batch Bundle: every entry on its own; failures become error entries."""
    entries = parse_entries(bundle, "batch", max_entries)
    results: list[EntryResult] = []
    for entry in sorted(entries, key=lambda e: e.index):
        try:
            if entry.error is not None:
                raise entry.error
            results.append(run_entry(svc, entry))
        except FhirError as exc:
            results.append(EntryResult(exc.status, error=exc))
    return results
