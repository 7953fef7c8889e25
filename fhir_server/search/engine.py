"""The SearchEngine the core uses: the R4 registry, index extraction and the query parser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir_server.errors import Issue, UnsupportedParameter
from fhir_server.search.extract import extract
from fhir_server.search.index import IndexEntry
from fhir_server.search.ir import Query
from fhir_server.search.match import matches
from fhir_server.search.parse import parse_search
from fhir_server.search.registry import Registry, default_registry


class RegistrySearchEngine:
    """Search over the parameters of one Registry."""

    def __init__(self, registry: Registry, max_count: int, default_count: int) -> None:
        """Bind the engine to a registry and the paging limits."""
        self.registry = registry
        self.max_count = max_count
        self.default_count = default_count

    @classmethod
    def default(cls, max_count: int, default_count: int) -> RegistrySearchEngine:
        """An engine over every R4 search parameter."""
        return cls(default_registry(), max_count, default_count)

    def extract(self, resource: dict[str, Any]) -> Sequence[IndexEntry]:
        """See SearchEngine.extract."""
        return extract(resource, self.registry)

    def parse(
        self, resource_types: Sequence[str], params: Sequence[tuple[str, str]], *, strict: bool
    ) -> tuple[Query, list[Issue]]:
        """See SearchEngine.parse."""
        return parse_search(
            resource_types,
            params,
            self.registry,
            default_count=self.default_count,
            max_count=self.max_count,
            strict=strict,
        )

    def matches(self, resource: dict[str, Any], query: Query) -> bool:
        """See SearchEngine.matches."""
        if resource.get("resourceType") not in query.resource_types:
            return False
        try:
            return matches(resource, query.where, self.registry)
        except UnsupportedParameter:
            return False

    def capability_params(self, resource_type: str) -> list[dict[str, str]]:
        """The CapabilityStatement ``searchParam`` list of one type."""
        return [
            {"name": code, "definition": param.url, "type": param.type}
            for code, param in sorted(self.registry.for_type(resource_type).items())
        ]
