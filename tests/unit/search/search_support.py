"""Helpers shared by the search unit tests: fixtures on disk and one-line parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from fhir_server.errors import Issue
from fhir_server.search.ir import Query, Term
from fhir_server.search.parse import parse_search
from fhir_server.search.registry import Registry, default_registry

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = orjson.loads((FIXTURES / f"{name}.json").read_bytes())
    return resource


def parse(
    query: str,
    resource_type: str | None = "Observation",
    *,
    strict: bool = True,
    registry: Registry | None = None,
    base_url: str | None = None,
) -> tuple[Query, list[Issue]]:
    return parse_search(
        [resource_type] if resource_type else [],
        parse_qsl(query, keep_blank_values=True),
        registry or default_registry(),
        default_count=20,
        max_count=100,
        strict=strict,
        base_url=base_url,
        now=NOW,
    )


def where(query: str, resource_type: str | None = "Observation") -> tuple[Term, ...]:
    """The AND-ed terms of a strict parse."""
    return parse(query, resource_type)[0].where.terms


def term(query: str, resource_type: str | None = "Observation") -> Term:
    """The single term of a strict parse."""
    (only,) = where(query, resource_type)
    return only
