"""Official R4 examples are accepted by every backend and findable by each populated parameter.

The query value of each parameter is derived from the index entries the extractor produced
for the example, so the test covers whatever the registry indexes, not a hand-picked list.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from math import floor, isfinite
from pathlib import Path
from typing import Any

import pytest

from fhir_server.core.resources import ResourceService
from fhir_server.search.index import (
    CompositeEntry,
    DateEntry,
    IndexEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "r4-examples"
SHAPES = Path(__file__).parents[1] / "unit" / "search" / "fixtures"
"""R4 example shapes the extractor unit tests use (Encounter, Device, ...), searched too."""
FILES = sorted(EXAMPLES.glob("*.json")) + sorted(SHAPES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return resource


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("$", "\\$").replace("|", "\\|")


def _number(value: float) -> str:
    return repr(int(value)) if value == int(value) else repr(value)


def _instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_value(entry: IndexEntry) -> str | None:
    """A search value that the entry must satisfy (None: nothing to search with)."""
    match entry:
        case TokenEntry():
            return _token_value(entry)
        case StringEntry(exact=exact):
            return _escape(exact) if exact.strip() else None
        case DateEntry(low=low, high=high):
            if isfinite(low):
                return f"le{_instant(floor(low) + 1)}"
            return f"ge{_instant(floor(high) - 1)}" if isfinite(high) else None
        case NumberEntry(value=value):
            return _number(value)
        case QuantityEntry(value=value, system=system, code=code):
            return f"{_number(value)}|{_escape(system)}|{_escape(code)}"
        case ReferenceEntry(target_type=target_type, target_id=target_id, url=url):
            if url:
                return _escape(url)
            return f"{target_type}/{target_id}" if target_id else None
        case UriEntry(value=value):
            return _escape(value)
        case CompositeEntry(components=components):
            return _composite_value(components)
    return None


def _token_value(entry: TokenEntry) -> str | None:
    system, code = _escape(entry.system), entry.code
    if entry.param.endswith(":of-type"):
        type_code, _, value = code.partition("|")  # Identifier.type code | value
        return f"{system}|{_escape(type_code)}|{_escape(value)}"
    if not code:
        return None
    return f"{system}|{_escape(code)}" if system else _escape(code)


def _composite_value(components: tuple[IndexEntry, ...]) -> str | None:
    parts = [query_value(c) for c in components]
    return None if None in parts else "$".join(p or "" for p in parts)


def searches(service: ResourceService, resource: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for entry in service.engine.extract(resource):
        value = query_value(entry)
        if value is not None:
            pairs.append((entry.param, value))
    return sorted(set(pairs))


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_example_is_stored_and_found_by_every_indexed_parameter(
    service: ResourceService, path: Path
) -> None:
    resource = load(path)
    resource_type, id = resource["resourceType"], resource["id"]
    outcome = service.update(resource, resource_type, id)
    assert outcome.created
    stored = service.read(resource_type, id).resource()
    assert stored["id"] == id
    pairs = searches(service, stored)  # meta.lastUpdated as the server set it
    assert len(pairs) >= 3, f"only {pairs} indexed"
    missed = []
    for name, value in pairs:
        query, issues = service.parse([resource_type], [(name, value)], strict=True)
        assert issues == []
        found = {v.id for v in service.search(query).entries}
        if id not in found:
            missed.append(f"{name}={value}")
    assert missed == []


def test_examples_cover_the_types_the_issue_names() -> None:
    types = {load(p)["resourceType"] for p in FILES}
    assert {
        "Patient",
        "Observation",
        "Condition",
        "MedicationRequest",
        "DiagnosticReport",
        "Encounter",
        "Device",
    } <= types
