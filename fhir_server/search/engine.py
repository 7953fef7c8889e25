"""The SearchEngine the core uses: the R4 registry, index extraction and the query parser.

Custom parameters: a SearchParameter resource with ``status: active`` is registered when it
is written (``extract`` sees every write) and applies to data written afterwards; data
written before needs ``fhir-server reindex``. ``register_stored`` registers the ones already
stored when a process starts. Each process holds its own registry: with several workers, a
parameter written through one reaches the others when they restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from conformance.definitions import resource_types
from fhir_server.errors import Issue, Unprocessable, UnsupportedParameter
from fhir_server.search.extract import extract
from fhir_server.search.index import IndexEntry
from fhir_server.search.ir import AllOf, Query, TokenMatch
from fhir_server.search.match import matches
from fhir_server.search.parse import parse_search
from fhir_server.search.registry import Registry, default_registry

log = logging.getLogger(__name__)
_OWN_COLUMNS = frozenset({"_id", "_lastUpdated"})

ACTIVE_SEARCH_PARAMETERS = Query(
    ("SearchParameter",),
    AllOf((TokenMatch("status", None, "active"),)),
    count=1000,
    total="none",
)
"""The stored custom parameters a starting process registers (``register_stored``)."""


class RegistrySearchEngine:
    """Search over the parameters of one Registry."""

    def __init__(self, registry: Registry, max_count: int, default_count: int) -> None:
        """Bind the engine to a registry and the paging limits."""
        self.registry = registry
        self.max_count = max_count
        self.default_count = default_count
        self._listeners: list[Callable[[], None]] = []
        self._revincludes: tuple[int, dict[str, list[str]]] | None = None

    @classmethod
    def default(
        cls, max_count: int, default_count: int, disabled: Collection[str] = ()
    ) -> RegistrySearchEngine:
        """An engine over every R4 search parameter except ``disabled`` (codes or Type.code)."""
        return cls(default_registry(frozenset(disabled)), max_count, default_count)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever a custom parameter is registered."""
        self._listeners.append(listener)

    def register(self, resource: dict[str, Any]) -> None:
        """Honour an active SearchParameter resource from now on.

        Raises:
            Unprocessable: the parameter cannot be used (no expression, unknown component,
                an expression that does not compile).
        """
        trial = self.registry.copy()  # the shared default registry is never changed
        param = trial.add(resource)
        for base in param.base:
            try:
                extract({"resourceType": base, "id": "probe"}, trial)
            except Exception as exc:  # fhirpathpy raises plain exceptions on bad syntax
                raise Unprocessable(
                    f"SearchParameter {param.code!r}: expression does not compile: {exc}",
                    code="invalid-search-parameter",
                ) from exc
        self.registry = trial
        for listener in self._listeners:
            listener()

    def register_stored(self, resources: Iterable[dict[str, Any]]) -> None:
        """Register stored SearchParameters (``ACTIVE_SEARCH_PARAMETERS``) at startup."""
        for resource in resources:
            try:
                self.register(resource)
            except Unprocessable as exc:  # stored before a change made it unusable
                log.warning("custom SearchParameter %s skipped: %s", resource.get("id"), exc)

    def extract(self, resource: dict[str, Any]) -> Sequence[IndexEntry]:
        """See SearchEngine.extract; an active SearchParameter is registered first.

        ``_id`` and ``_lastUpdated`` are left out: every store searches them on the
        resource's own id and version timestamp.
        """
        if resource.get("resourceType") == "SearchParameter" and resource.get("status") == "active":
            self.register(resource)
        entries = extract(resource, self.registry)
        return [e for e in entries if e.param not in _OWN_COLUMNS]

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

    def include_params(self, resource_type: str) -> list[str]:
        """``_include`` values of one type: ``Type:param`` per reference parameter, and ``*``."""
        refs = sorted(self.registry.for_type(resource_type).items())
        return [f"{resource_type}:{code}" for code, p in refs if p.type == "reference"] + ["*"]

    def revinclude_params(self, resource_type: str) -> list[str]:
        """``_revinclude`` values that reach one type: ``Source:param`` targeting it."""
        if self._revincludes is None or self._revincludes[0] != self.registry.version:
            reverse: dict[str, list[str]] = {}
            for source in sorted(resource_types()):
                for code, param in sorted(self.registry.for_type(source).items()):
                    if param.type == "reference":
                        for target in param.targets:
                            reverse.setdefault(target, []).append(f"{source}:{code}")
            self._revincludes = (self.registry.version, reverse)
        return list(self._revincludes[1].get(resource_type, ()))

    def capability_params(self, resource_type: str) -> list[dict[str, str]]:
        """The CapabilityStatement ``searchParam`` list of one type: exactly the searchable ones."""
        return [
            {"name": code, "definition": param.url, "type": param.type}
            for code, param in sorted(self.registry.for_type(resource_type).items())
            if param.searchable
        ]
