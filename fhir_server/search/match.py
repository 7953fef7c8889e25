"""The in-memory evaluator of the search IR: subscriptions and the storage test oracle.

https://hl7.org/fhir/R4/search.html. A resource matches a term when its index entries
(``extract``) satisfy it, with the semantics the SQLite and MongoDB compilers implement:

* a leaf holds when any entry under its parameter satisfies it; ``Not`` negates the whole
  term, so ``code:not=x`` matches resources with no code at all;
* token: system None is any system, "" no system; code None any code. ``TokenText`` is a
  prefix of ``TokenEntry.text``. string: prefix of / substring of ``normalized``, or
  ``exact`` equality. uri: equality, ``below`` (the entry starts with the value),
  ``above`` (the value starts with the entry);
* date, number, quantity: the prefix table of ``_ranges``;
* reference: with ``url``, the entry's url equals it; otherwise the entry's id (and type,
  when given) equal the search's, whether the reference was relative or absolute;
* ``Missing(p, True)`` holds when there is no entry under ``p``;
* ``Composite``: one composite entry whose i-th component satisfies the i-th leaf;
* ``Chain``: a reference under ``param`` to ``target_type`` resolves to a resource that
  matches ``where``; ``Has``: a ``source_type`` resource refers to this one through
  ``param`` and matches ``where``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, assert_never

from fhir_server.errors import UnsupportedParameter
from fhir_server.search._ranges import range_matches, value_matches
from fhir_server.search.extract import extract
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
from fhir_server.search.ir import (
    AllOf,
    AnyOf,
    Chain,
    Composite,
    DateMatch,
    Has,
    IsResource,
    Missing,
    Not,
    NumberMatch,
    QuantityMatch,
    Query,
    RefMatch,
    StringMatch,
    Term,
    TokenMatch,
    TokenText,
    UriMatch,
)
from fhir_server.search.registry import Registry

Resource = Mapping[str, Any]
Resolve = Callable[[str, str], Resource | None]
"""Reads a resource by (type, id); None when it does not exist."""
Referrers = Callable[[str, str, str], Iterable[Resource]]
"""(source type, target type, target id) -> resources of the source type that may refer to
the target (a superset is fine: the matcher checks the reference itself)."""

Leaf = (
    TokenMatch
    | TokenText
    | DateMatch
    | NumberMatch
    | QuantityMatch
    | StringMatch
    | UriMatch
    | RefMatch
)


def matches(
    resource: Resource,
    term: Term,
    registry: Registry,
    resolve: Resolve | None = None,
    *,
    referrers: Referrers | None = None,
) -> bool:
    """Whether ``resource`` satisfies ``term``.

    Args:
        resource: the resource.
        term: an IR term (``Query.where`` for a whole search).
        registry: the parameters to extract index entries with.
        resolve: reads referenced resources, for ``Chain``.
        referrers: finds referring resources, for ``Has``.

    Raises:
        UnsupportedParameter: the term has a chain without ``resolve`` or a ``_has`` without
            ``referrers``.
    """
    return _Matcher(registry, resolve, referrers).holds(resource, term)


def filter_resources(
    resources: Iterable[dict[str, Any]],
    query: Query,
    registry: Registry,
    *,
    resolve: Resolve | None = None,
    referrers: Referrers | None = None,
) -> list[dict[str, Any]]:
    """The resources of ``query.resource_types`` that satisfy ``query.where``, in input order.

    Chains and ``_has`` look within ``resources`` unless ``resolve``/``referrers`` are given.
    Paging, sorting and ``query.snapshot`` are left to the caller.
    """
    pool = list(resources)
    by_key = {(r.get("resourceType"), r.get("id")): r for r in pool}

    def resolve_in_pool(resource_type: str, id: str) -> Resource | None:
        return by_key.get((resource_type, id))

    def referrers_in_pool(source: str, _type: str, _id: str) -> Iterable[Resource]:
        return [r for r in pool if r.get("resourceType") == source]

    matcher = _Matcher(registry, resolve or resolve_in_pool, referrers or referrers_in_pool)
    types = set(query.resource_types)
    return [r for r in pool if r.get("resourceType") in types and matcher.holds(r, query.where)]


class _Matcher:
    def __init__(self, registry: Registry, resolve: Resolve | None, referrers: Referrers | None):
        self._registry = registry
        self._resolve = resolve
        self._referrers = referrers
        self._cache: dict[int, tuple[Resource, dict[str, list[IndexEntry]]]] = {}

    def _entries(self, resource: Resource, param: str) -> list[IndexEntry]:
        cached = self._cache.get(id(resource))
        if cached is None:
            grouped: dict[str, list[IndexEntry]] = {}
            for entry in extract(resource, self._registry):
                grouped.setdefault(entry.param, []).append(entry)
            cached = (resource, grouped)
            self._cache[id(resource)] = cached
        return cached[1].get(param, [])

    def holds(self, resource: Resource, term: Term) -> bool:
        match term:
            case AllOf(terms=terms):
                return all(self.holds(resource, t) for t in terms)
            case AnyOf(terms=terms):
                return any(self.holds(resource, t) for t in terms)
            case Not(term=inner):
                return not self.holds(resource, inner)
            case Missing(param=param, missing=missing):
                return (not self._entries(resource, param)) == missing
            case IsResource(resource_type=resource_type, id=id):
                return resource.get("resourceType") == resource_type and resource.get("id") == id
            case Chain():
                return self._chain(resource, term)
            case Has():
                return self._has(resource, term)
            case Composite(param=param, components=components):
                return any(
                    _composite_matches(components, entry)
                    for entry in self._entries(resource, param)
                )
            case (
                TokenMatch()
                | TokenText()
                | DateMatch()
                | NumberMatch()
                | QuantityMatch()
                | StringMatch()
                | UriMatch()
                | RefMatch()
            ):
                return any(entry_matches(term, e) for e in self._entries(resource, term.param))
            case _:
                assert_never(term)

    def _chain(self, resource: Resource, term: Chain) -> bool:
        if self._resolve is None:
            raise UnsupportedParameter(
                "chained search needs a resolver here", code="unsupported-chain"
            )
        for entry in self._entries(resource, term.param):
            if not isinstance(entry, ReferenceEntry) or entry.target_type != term.target_type:
                continue
            target = self._resolve(entry.target_type, entry.target_id)
            if target is not None and self.holds(target, term.where):
                return True
        return False

    def _has(self, resource: Resource, term: Has) -> bool:
        if self._referrers is None:
            raise UnsupportedParameter("_has needs a referrer lookup here", code="unsupported-has")
        own_type, own_id = resource.get("resourceType", ""), resource.get("id", "")
        for source in self._referrers(term.source_type, own_type, own_id):
            if source.get("resourceType") != term.source_type:
                continue
            refers = any(
                isinstance(e, ReferenceEntry)
                and e.target_type == own_type
                and e.target_id == own_id
                for e in self._entries(source, term.param)
            )
            if refers and self.holds(source, term.where):
                return True
        return False


def _composite_matches(components: tuple[Term, ...], entry: IndexEntry) -> bool:
    if not isinstance(entry, CompositeEntry) or len(entry.components) != len(components):
        return False
    for component, value in zip(components, entry.components, strict=True):
        if not isinstance(component, Leaf) or not entry_matches(component, value):
            return False
    return True


def entry_matches(term: Leaf, entry: IndexEntry) -> bool:
    """Whether one index entry satisfies a leaf term (its param is not compared)."""
    match term:
        case TokenMatch(system=system, code=code):
            return (
                isinstance(entry, TokenEntry)
                and (system is None or entry.system == system)
                and (code is None or entry.code == code)
            )
        case TokenText(text=text):
            return isinstance(entry, TokenEntry) and entry.text.startswith(text)
        case StringMatch():
            return isinstance(entry, StringEntry) and _string_matches(term, entry)
        case UriMatch():
            return isinstance(entry, UriEntry) and _uri_matches(term, entry)
        case DateMatch(cmp=cmp, low=low, high=high):
            return isinstance(entry, DateEntry) and range_matches(
                cmp, low.timestamp(), high.timestamp(), entry.low, entry.high
            )
        case NumberMatch(cmp=cmp, value=value, low=low, high=high):
            return isinstance(entry, NumberEntry) and value_matches(
                cmp, float(value), float(low), float(high), entry.value
            )
        case QuantityMatch():
            return isinstance(entry, QuantityEntry) and _quantity_matches(term, entry)
        case RefMatch():
            return isinstance(entry, ReferenceEntry) and _reference_matches(term, entry)
        case _:
            assert_never(term)


def _string_matches(term: StringMatch, entry: StringEntry) -> bool:
    if term.mode == "exact":
        return entry.exact == term.value
    if term.mode == "contains":
        return term.value in entry.normalized
    return entry.normalized.startswith(term.value)


def _uri_matches(term: UriMatch, entry: UriEntry) -> bool:
    if term.mode == "below":
        return entry.value.startswith(term.value)
    if term.mode == "above":
        return term.value.startswith(entry.value)
    return entry.value == term.value


def _quantity_matches(term: QuantityMatch, entry: QuantityEntry) -> bool:
    value, low, high = float(term.value), float(term.low), float(term.high)
    plain = (
        (term.system is None or entry.system == term.system)
        and (term.code is None or entry.code == term.code)
        and value_matches(term.cmp, value, low, high, entry.value)
    )
    if plain or term.code is None or entry.canonical_code != term.code:
        return plain
    return entry.canonical_value is not None and value_matches(
        term.cmp, value, low, high, entry.canonical_value
    )


def _reference_matches(term: RefMatch, entry: ReferenceEntry) -> bool:
    if term.url is not None:
        return entry.url == term.url
    return (term.target_id is None or entry.target_id == term.target_id) and (
        term.target_type is None or entry.target_type == term.target_type
    )
