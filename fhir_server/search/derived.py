"""Search parameters answered from the index entries of other parameters, so never indexed.

R4 defines several parameters over exactly the elements of simpler ones. Observation's
``combo-code`` is ``Observation.code | Observation.component.code``, which is ``code`` or
``component-code``; ``code-value-quantity`` is a composite on the Observation itself, whose
components are the elements of ``code`` and ``value-quantity``. Indexing them repeats rows
that are already there: 7 of an Observation's 12 token and quantity rows. Such a parameter
is instead searched as the equivalent expression over the simpler parameters (``parse``),
and ``extract`` leaves it out.

Three shapes are recognised from the definitions, never from a list of names:

* **union**: a parameter whose expression for its one base type is exactly the union of
  the expressions of two or more other parameters of the same type -> any of them.
* **composite on the resource**: a composite whose expression is the resource itself and
  whose components are the expressions of their own definitions -> all of them. On one
  resource there is one element, so "every component holds on the same element" is "every
  component holds".
* **union of composites**: a composite whose expression is the union of the expressions
  of other composites with the same components -> any of them.

Expressions are compared part by part after normalising ``(x as T)`` to ``x.as(T)``; a
``SampledData`` part of a quantity parameter is dropped, because a SampledData has no
value and yields no quantity entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from weakref import WeakKeyDictionary

from fhir_server.search.registry import Registry, SearchParam, split_union

_AS_OPERATOR = re.compile(r"^\((.+?) as ([A-Za-z]+)\)(.*)$")
_AS_FUNCTION = re.compile(r"\.as\(([A-Za-z]+)\)")


@dataclass(frozen=True, slots=True)
class Derivation:
    """How a parameter is searched instead of being indexed.

    Attributes:
        mode: ``any`` (one of the parameters holds) or ``all`` (each holds).
        params: the parameters; in ``all`` mode, the composite's components in order.
    """

    mode: Literal["any", "all"]
    params: tuple[SearchParam, ...]


_CACHE: WeakKeyDictionary[Registry, tuple[int, dict[str, Derivation | None]]] = WeakKeyDictionary()


def derivation(registry: Registry, param: SearchParam) -> Derivation | None:
    """The derivation of ``param`` in ``registry``, or None when it is indexed itself."""
    cached = _CACHE.get(registry)
    if cached is None or cached[0] != registry.version:
        cached = _CACHE[registry] = (registry.version, {})
    known = cached[1]
    if param.url not in known:
        known[param.url] = _derive(registry, param)
    return known[param.url]


def derived_codes(registry: Registry, resource_type: str) -> frozenset[str]:
    """The codes of ``resource_type``'s parameters that are derived, not indexed."""
    return frozenset(
        code
        for code, param in registry.for_type(resource_type).items()
        if derivation(registry, param) is not None
    )


def _derive(registry: Registry, param: SearchParam) -> Derivation | None:
    if len(param.base) != 1 or param.base[0] in ("Resource", "DomainResource"):
        return None
    resource_type = param.base[0]
    if registry.get(resource_type, param.code) is not param:
        return None  # disabled, or replaced by a custom parameter
    expression = param.expression_for(resource_type)
    if expression is None:
        return None
    if param.type != "composite":
        return _union(registry, param, resource_type)
    bases = _parts(expression, "composite")
    if bases == {resource_type}:
        return _on_resource(registry, param, resource_type)
    return _composite_union(registry, param, resource_type, bases)


def _union(registry: Registry, param: SearchParam, resource_type: str) -> Derivation | None:
    own = _parts(param.expression_for(resource_type) or "", param.type)
    candidates = [
        other
        for other in registry.for_type(resource_type).values()
        if other is not param and other.type == param.type
    ]
    subsets = [
        (other, parts)
        for other in candidates
        if (parts := _parts(other.expression_for(resource_type) or "", other.type)) and parts < own
    ]
    chosen = [(o, p) for o, p in subsets if not any(p < q for _, q in subsets)]
    covered: set[str] = set()
    for _, parts in chosen:
        if not covered.isdisjoint(parts):
            return None  # overlapping candidates: not a clean union
        covered |= parts
    if covered != own or len(chosen) < 2:
        return None
    return Derivation("any", tuple(other for other, _ in chosen))


def _on_resource(registry: Registry, param: SearchParam, resource_type: str) -> Derivation | None:
    components = []
    for component in param.components:
        definition = registry.by_url(component.definition)
        if definition is None or registry.get(resource_type, definition.code) is not definition:
            return None
        rooted = _parts(
            " | ".join(f"{resource_type}.{p}" for p in split_union(component.expression)),
            definition.type,
        )
        if rooted != _parts(definition.expression_for(resource_type) or "", definition.type):
            return None
        if derivation(registry, definition) is not None:
            return None
        components.append(definition)
    return Derivation("all", tuple(components)) if components else None


def _composite_union(
    registry: Registry, param: SearchParam, resource_type: str, bases: set[str]
) -> Derivation | None:
    shape = [(c.type, c.expression) for c in param.components]
    chosen: list[SearchParam] = []
    covered: set[str] = set()
    for other in registry.for_type(resource_type).values():
        if other is param or other.type != "composite":
            continue
        if [(c.type, c.expression) for c in other.components] != shape:
            continue
        other_bases = _parts(other.expression_for(resource_type) or "", "composite")
        if len(other_bases) == 1 and other_bases <= bases and other_bases.isdisjoint(covered):
            chosen.append(other)
            covered |= other_bases
    if covered != bases or len(chosen) < 2:
        return None
    return Derivation("any", tuple(chosen))


def _parts(expression: str, param_type: str) -> set[str]:
    """The normalised parts of a union expression (see the module docstring)."""
    parts = {_normal(part) for part in split_union(expression)}
    if param_type == "quantity":
        parts = {p for p in parts if not p.endswith(".as(SampledData)")}
    return parts


def _normal(part: str) -> str:
    text = part.strip()
    match = _AS_OPERATOR.match(text)
    if match is not None:
        path, type_name, rest = match.groups()
        text = f"{path.strip()}.as({type_name}){rest}"
    text = _AS_FUNCTION.sub(lambda m: f".as({m.group(1)[0].upper()}{m.group(1)[1:]})", text)
    return text.replace(" ", "")
