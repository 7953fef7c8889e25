"""Index extraction: a resource to the entries of every search parameter of its type.

https://hl7.org/fhir/R4/search.html. At write time ``extract`` evaluates each enabled
parameter's expression for the resource's type and converts what it selects into typed
entries (``search.index``); how each FHIR data type becomes entries is listed in
``_convert``. Besides the entries named by a parameter's code it emits two derived
token params: ``"<code>:identifier"`` (Reference.identifier, for ``:identifier``) and
``"<code>:of-type"`` (Identifier.type, for ``:of-type``).

A parameter whose expression fails on some content (a fhirpathpy limit, an arithmetic
overflow) indexes nothing for that resource and logs a warning: valid data is never refused
for an indexing limitation. Expressions are compiled once per (registry, type). Simple
paths use the fast path (``_fastpath``); the rest, and everything when
``fast_path=False``, use fhirpathpy.
A composite emits one ``CompositeEntry`` per element its expression selects and per
combination of that element's component entries (text-only tokens left out).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any
from weakref import WeakKeyDictionary

from fhir_server.search._convert import CONVERTERS, Converter
from fhir_server.search._fastpath import compile_fast, element_path, root_keys
from fhir_server.search._fhirpath import Evaluator, compile_path
from fhir_server.search.index import CompositeEntry, IndexEntry, TokenEntry
from fhir_server.search.registry import Registry, SearchParam, split_union


@dataclass(frozen=True, slots=True)
class _Simple:
    code: str
    evaluate: Evaluator
    convert: Converter
    keys: frozenset[str] | None = None  # the resource holds none of these: nothing selected


@dataclass(frozen=True, slots=True)
class _Scope:
    evaluate: Evaluator
    components: tuple[_Simple, ...]
    keys: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class _Composite:
    code: str
    scopes: tuple[_Scope, ...]


_Plan = _Simple | _Composite
log = logging.getLogger(__name__)
_PLANS: WeakKeyDictionary[Registry, dict[tuple[str, bool, int], tuple[_Plan, ...]]] = (
    WeakKeyDictionary()
)


def extract(
    resource: Mapping[str, Any], registry: Registry, *, fast_path: bool = True
) -> list[IndexEntry]:
    """The index entries of ``resource``, without duplicates, in a stable order.

    Args:
        resource: a resource as parsed JSON (it is not modified).
        registry: the search parameters to index.
        fast_path: use compiled accessors for simple expressions; False evaluates every
            expression with fhirpathpy (for tests and comparison).
    """
    out: list[IndexEntry] = []
    present = set(resource)
    parts: dict[tuple[int, int], tuple[object, list[IndexEntry]]] = {}
    for plan in _plans(registry, resource["resourceType"], fast_path):
        if type(plan) is _Simple and plan.keys is not None and plan.keys.isdisjoint(present):
            continue
        entries: list[IndexEntry] = []
        try:
            if type(plan) is _Simple:
                convert, code = plan.convert, plan.code
                for value in plan.evaluate(resource, resource):
                    convert(code, value, entries)
            else:
                assert isinstance(plan, _Composite)
                _extract_composite(plan, resource, present, parts, entries)
        except Exception:  # fhirpathpy raises plain exceptions; valid data is never refused
            log.warning(
                "search parameter %r not indexed for %s/%s",
                plan.code,
                resource["resourceType"],
                resource.get("id"),
                exc_info=True,
            )
            continue
        out.extend(entries)
    return list(dict.fromkeys(out))


def _extract_composite(
    plan: _Composite,
    resource: Mapping[str, Any],
    present: set[str],
    parts: dict[tuple[int, int], tuple[object, list[IndexEntry]]],
    out: list[IndexEntry],
) -> None:
    """Append the composite's entries; ``parts`` keeps each component's entries per element.

    Composites share components (``Observation.code`` is in six of them): each is converted
    once per element and resource. ``parts`` holds the element too, so that its id is not
    reused while the resource is extracted.
    """
    for scope in plan.scopes:
        if scope.keys is not None and scope.keys.isdisjoint(present):
            continue
        for element in scope.evaluate(resource, resource):
            found: list[list[IndexEntry]] = []
            for part in scope.components:
                known = parts.get((id(element), id(part)))
                if known is None:
                    entries: list[IndexEntry] = []
                    for value in part.evaluate(element, resource):
                        part.convert(part.code, value, entries)
                    own = [e for e in entries if e.param == part.code and _valued(e)]
                    parts[id(element), id(part)] = (element, own)
                else:
                    own = known[1]
                if not own:
                    break
                found.append(own)
            else:
                out.extend(CompositeEntry(plan.code, tuple(combo)) for combo in product(*found))


def _valued(entry: IndexEntry) -> bool:
    """False for the text-only token of a CodeableConcept, which no composite value matches."""
    return not isinstance(entry, TokenEntry) or bool(entry.code or entry.system)


def _plans(registry: Registry, resource_type: str, fast_path: bool) -> tuple[_Plan, ...]:
    cache = _PLANS.get(registry)
    if cache is None:
        cache = _PLANS.setdefault(registry, {})
    key = (resource_type, fast_path, registry.version)
    plans = cache.get(key)
    if plans is None:
        shared: dict[tuple[str, ...], _Simple] = {}
        built = (
            _plan(p, resource_type, fast_path, shared)
            for p in registry.for_type(resource_type).values()
        )
        plans = tuple(plan for plan in built if plan is not None)
        cache[key] = plans
    return plans


def _plan(
    param: SearchParam, resource_type: str, fast_path: bool, shared: dict[tuple[str, ...], _Simple]
) -> _Plan | None:
    expression = param.expression_for(resource_type)
    if expression is None:
        return None
    if param.type == "composite":
        return _composite_plan(param, expression, resource_type, fast_path, shared)
    convert = CONVERTERS.get(param.type)
    if convert is None:
        return None
    evaluate = _evaluator(expression, resource_type, fast_path)
    return _Simple(param.code, evaluate, convert, _keys(expression, resource_type, fast_path))


def _composite_plan(
    param: SearchParam,
    expression: str,
    resource_type: str,
    fast_path: bool,
    shared: dict[tuple[str, ...], _Simple],
) -> _Composite | None:
    """The composite's plan; equal components of the type's composites are one object."""
    scopes = []
    for part in split_union(expression):
        path = element_path(part, resource_type)
        components = []
        for component in param.components:
            convert = CONVERTERS.get(component.type)
            if convert is None:
                return None
            key = (component.code, component.type, component.expression, str(path))
            if key not in shared:
                evaluate = _evaluator(component.expression, path, fast_path, relative=True)
                shared[key] = _Simple(component.code, evaluate, convert)
            components.append(shared[key])
        evaluate = _evaluator(part, resource_type, fast_path)
        keys = _keys(part, resource_type, fast_path)
        scopes.append(_Scope(evaluate, tuple(components), keys))
    return _Composite(param.code, tuple(scopes))


def _keys(expression: str, resource_type: str, fast_path: bool) -> frozenset[str] | None:
    """The top-level keys guarding a fast-path expression; None: always evaluate it."""
    if not fast_path or compile_fast(expression, resource_type) is None:
        return None
    return root_keys(expression, resource_type)


def _evaluator(
    expression: str, root: str | None, fast_path: bool, *, relative: bool = False
) -> Evaluator:
    if fast_path and root is not None:
        fast = compile_fast(expression, root, relative=relative)
        if fast is not None:
            return fast
    return compile_path(expression, root if relative else None)
