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
``fast_path=False``, use fhirpathpy. A fast-path parameter is skipped when the resource
holds none of the top-level keys it reads (chosen once per set of keys), and a value that
a composite shares with a simple parameter is converted once.
A composite emits one ``CompositeEntry`` per element its expression selects and per
combination of that element's component entries (text-only tokens left out). Parameters
answered from other parameters' entries (``search.derived``) are not extracted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import product
from typing import Any
from weakref import WeakKeyDictionary

from fhir_server.search._convert import CONVERTERS, Converter
from fhir_server.search._fastpath import compile_exists_flag, compile_fast, element_path, root_keys
from fhir_server.search._fhirpath import Evaluator, compile_path
from fhir_server.search.derived import derived_codes
from fhir_server.search.index import CompositeEntry, IndexEntry, TokenEntry
from fhir_server.search.registry import Registry, SearchParam, split_union


@dataclass(frozen=True, slots=True)
class _Simple:
    code: str
    evaluate: Evaluator
    convert: Converter
    keys: frozenset[str] | None = None  # the node holds none of these: nothing selected
    shared: bool = False  # a composite has this component: keep the entries of each value


@dataclass(frozen=True, slots=True)
class _Scope:
    evaluate: Evaluator
    components: tuple[_Simple, ...]
    guards: tuple[frozenset[str], ...] = ()  # the resource misses all keys of one: no entry
    inner: bool = True  # guard each element by its components' keys (not the resource)


@dataclass(frozen=True, slots=True)
class _Composite:
    code: str
    scopes: tuple[_Scope, ...]


_Plan = _Simple | _Composite


class _TypePlans:
    """The plans of one resource type, and those that apply to each set of top-level keys."""

    _SHAPES = 256  # key sets remembered per type; the cache starts again past that

    def __init__(self, plans: tuple[_Plan, ...]) -> None:
        self.plans = plans
        # Entries of two plans differ by param unless a code holds ":" ("x" and "x:identifier")
        self.distinct = not any(":" in plan.code for plan in plans)
        self._by_keys: dict[frozenset[str], tuple[_Plan, ...]] = {}

    def select(self, present: frozenset[str]) -> tuple[_Plan, ...]:
        """The plans that may select something in a resource with the keys ``present``."""
        selected = self._by_keys.get(present)
        if selected is None:
            if len(self._by_keys) >= self._SHAPES:
                self._by_keys.clear()
            selected = self._by_keys[present] = tuple(_applicable(self.plans, present))
        return selected


def _applicable(plans: tuple[_Plan, ...], present: frozenset[str]) -> Iterator[_Plan]:
    for plan in plans:
        if type(plan) is _Simple:
            if plan.keys is None or not plan.keys.isdisjoint(present):
                yield plan
            continue
        assert isinstance(plan, _Composite)
        scopes = tuple(
            scope
            for scope in plan.scopes
            if not any(guard.isdisjoint(present) for guard in scope.guards)
        )
        if scopes:
            yield plan if len(scopes) == len(plan.scopes) else _Composite(plan.code, scopes)


log = logging.getLogger(__name__)
_PLANS: WeakKeyDictionary[Registry, dict[tuple[str, bool, int], _TypePlans]] = WeakKeyDictionary()


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
    type_plans = _plans(registry, resource["resourceType"], fast_path)
    memo = _Memo()
    for plan in type_plans.select(frozenset(resource)):
        start = len(out)
        try:
            if type(plan) is not _Simple:
                assert isinstance(plan, _Composite)
                _extract_composite(plan, resource, memo, out)
            elif plan.shared:
                for value in plan.evaluate(resource, resource):
                    memo.convert(plan, value, out)
            else:
                convert, code = plan.convert, plan.code
                for value in plan.evaluate(resource, resource):
                    convert(code, value, out)
        except Exception:  # fhirpathpy raises plain exceptions; valid data is never refused
            del out[start:]
            log.warning(
                "search parameter %r not indexed for %s/%s",
                plan.code,
                resource["resourceType"],
                resource.get("id"),
                exc_info=True,
            )
            continue
        if len(out) - start > 1:
            added = out[start:]
            unique = dict.fromkeys(added)
            if len(unique) < len(added):
                out[start:] = unique
    return out if type_plans.distinct else list(dict.fromkeys(out))


class _Memo:
    """What one extraction converted, for composites to reuse.

    ``values``: the entries of each value of a parameter (keyed by the value's id, the
    code and the converter), filled by the plans that composites share. ``parts``: each
    component's entries per element. Both hold the value or element too, so that its id
    is not reused while the resource is extracted.
    """

    __slots__ = ("parts", "values")

    def __init__(self) -> None:
        self.values: dict[tuple[int, str, Converter], tuple[object, list[IndexEntry]]] = {}
        self.parts: dict[tuple[int, int], tuple[object, list[IndexEntry]]] = {}

    def convert(self, plan: _Simple, value: Any, out: list[IndexEntry]) -> None:
        """Append the entries of ``value`` for ``plan``, converting it once."""
        key = (id(value), plan.code, plan.convert)
        known = self.values.get(key)
        if known is None:
            entries: list[IndexEntry] = []
            plan.convert(plan.code, value, entries)
            self.values[key] = (value, entries)
        else:
            entries = known[1]
        out.extend(entries)


def _extract_composite(
    plan: _Composite, resource: Mapping[str, Any], memo: _Memo, out: list[IndexEntry]
) -> None:
    """Append the composite's entries.

    Composites share components (``Observation.code`` is in six of them), and simple
    parameters select the same values: each is converted once per resource (``_Memo``).
    """
    for scope in plan.scopes:
        for element in scope.evaluate(resource, resource):
            found: list[list[IndexEntry]] = []
            for part in scope.components:
                keys = part.keys if scope.inner and type(element) is dict else None
                if keys is not None and keys.isdisjoint(element):
                    break
                known = memo.parts.get((id(element), id(part)))
                if known is None:
                    entries: list[IndexEntry] = []
                    for value in part.evaluate(element, resource):
                        memo.convert(part, value, entries)
                    own = [e for e in entries if e.param == part.code and _valued(e)]
                    memo.parts[id(element), id(part)] = (element, own)
                else:
                    own = known[1]
                if not own:
                    break
                found.append(own)
            else:
                out.extend([CompositeEntry(plan.code, combo) for combo in product(*found)])


def _valued(entry: IndexEntry) -> bool:
    """False for the text-only token of a CodeableConcept, which no composite value matches."""
    return not isinstance(entry, TokenEntry) or bool(entry.code or entry.system)


def _plans(registry: Registry, resource_type: str, fast_path: bool) -> _TypePlans:
    cache = _PLANS.get(registry)
    if cache is None:
        cache = _PLANS.setdefault(registry, {})
    key = (resource_type, fast_path, registry.version)
    plans = cache.get(key)
    if plans is None:
        shared: dict[tuple[str, ...], _Simple] = {}
        derived = derived_codes(registry, resource_type)
        built = [
            _plan(p, resource_type, fast_path, shared)
            for p in registry.for_type(resource_type).values()
            if p.code not in derived
        ]
        components = {(part.code, part.convert) for part in shared.values()}
        plans = cache[key] = _TypePlans(
            tuple(_sharing(plan, components) for plan in built if plan is not None)
        )
    return plans


def _sharing(plan: _Plan, components: set[tuple[str, Converter]]) -> _Plan:
    """``plan``, marked shared when a composite has a component of the same code."""
    if type(plan) is _Simple and (plan.code, plan.convert) in components:
        return replace(plan, shared=True)
    return plan


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
    """The composite's plan; equal components of the type's composites are one object.

    A component's ``keys`` guard its element. A scope selecting the resource itself is
    guarded by its components' keys, any other by its own top-level keys.
    """
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
                keys = _keys(component.expression, path, fast_path, relative=True)
                shared[key] = _Simple(component.code, evaluate, convert, keys)
            components.append(shared[key])
        evaluate = _evaluator(part, resource_type, fast_path)
        if fast_path and part.strip() == resource_type:
            guards = tuple(c.keys for c in components if c.keys is not None)
            scopes.append(_Scope(evaluate, tuple(components), guards, inner=False))
        else:
            keys = _keys(part, resource_type, fast_path)
            scopes.append(_Scope(evaluate, tuple(components), () if keys is None else (keys,)))
    return _Composite(param.code, tuple(scopes))


def _keys(
    expression: str, root: str | None, fast_path: bool, *, relative: bool = False
) -> frozenset[str] | None:
    """The top-level keys guarding a fast-path expression; None: always evaluate it."""
    if not fast_path or root is None:
        return None
    return root_keys(expression, root, relative=relative)


def _evaluator(
    expression: str, root: str | None, fast_path: bool, *, relative: bool = False
) -> Evaluator:
    if fast_path and root is not None:
        fast = compile_fast(expression, root, relative=relative)
        if fast is None and not relative:
            fast = compile_exists_flag(expression, root)
        if fast is not None:
            return fast
    return compile_path(expression, root if relative else None)
