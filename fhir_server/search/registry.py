"""The search parameter registry: every R4 SearchParameter, per resource type.

https://hl7.org/fhir/R4/searchparameter.html. Loaded once from the vendored
``search-parameters.json`` (``default_registry()``); custom SearchParameter resources are
added with ``Registry.add`` and apply to data written afterwards. An operator switches off
parameters with ``disabled`` codes (``"value-string"`` everywhere, or
``"Observation.value-string"`` for one type): a disabled parameter is neither indexed nor
searchable.

Union expressions shared by many types (``AllergyIntolerance.code | Condition.code | ...``)
are split so that each type evaluates only its own part (``SearchParam.expression_for``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, cast

from conformance.definitions import resource_types, search_parameter_bundle
from fhir_server.errors import Unprocessable

ParamType = Literal[
    "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"
]

ORDERED_TYPES = frozenset({"number", "date", "quantity"})
ALL_COMPARATORS = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SUPPORTED_MODIFIERS: Mapping[str, tuple[str, ...]] = {
    "number": ("missing",),
    "date": ("missing",),
    "quantity": ("missing",),
    "string": ("missing", "exact", "contains"),
    "token": ("missing", "not", "text", "of-type"),
    "reference": ("missing", "identifier"),
    "uri": ("missing", "above", "below"),
    "composite": ("missing",),
    "special": (),
}
_ABSTRACT_BASES = ("Resource", "DomainResource")
_NOT_DOMAIN_RESOURCES = frozenset({"Bundle", "Binary", "Parameters"})
_HEAD = re.compile(r"\(*\s*([A-Za-z][A-Za-z0-9]*)")


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a composite parameter.

    Attributes:
        definition: the canonical URL of the component's SearchParameter.
        code: that parameter's code.
        type: that parameter's type.
        expression: FHIRPath relative to each element the composite's expression selects.
    """

    definition: str
    code: str
    type: ParamType
    expression: str


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One search parameter.

    Attributes:
        code: the name used in a query (``code``, ``_lastUpdated``).
        type: the search parameter type.
        base: the resource types it applies to (``Resource`` for all).
        expression: the full FHIRPath expression, None when it has none (``_content``).
        url: the canonical URL of the definition.
        parts: ``(resource type, expression for that type)`` pairs split out of ``expression``.
        targets: resource types a reference parameter can point to.
        components: the components of a composite parameter.
        modifiers: the modifiers this server supports for it.
        comparators: the prefixes it accepts.
    """

    code: str
    type: ParamType
    base: tuple[str, ...]
    expression: str | None
    url: str
    parts: tuple[tuple[str, str], ...] = ()
    targets: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()

    @property
    def searchable(self) -> bool:
        """Whether this server can search by it (not ``special``, not ``_content``-like)."""
        return self.type != "special" and (self.expression is not None or self.type == "composite")

    def expression_for(self, resource_type: str) -> str | None:
        """The part of the expression that applies to ``resource_type``, or None."""
        own = [expr for base, expr in self.parts if base == resource_type]
        for abstract in _ABSTRACT_BASES:
            pattern = re.compile(rf"^(\(*\s*){abstract}\b")
            own += [
                pattern.sub(rf"\g<1>{resource_type}", e) for b, e in self.parts if b == abstract
            ]
        return " | ".join(own) or None


class Registry:
    """Search parameters by resource type and code."""

    def __init__(self, params: Iterable[SearchParam] = (), *, disabled: Collection[str] = ()):
        """Create a registry.

        Args:
            params: the parameters.
            disabled: codes (``"code"`` or ``"Type.code"``) to switch off.
        """
        self._disabled = frozenset(disabled)
        self._by_url: dict[str, SearchParam] = {}
        self._by_base: dict[str, dict[str, SearchParam]] = {}
        self._per_type: dict[str, dict[str, SearchParam]] = {}
        self.version = 0
        for param in params:
            self._put(param)

    @classmethod
    def from_bundle(cls, bundle: Mapping[str, Any], *, disabled: Collection[str] = ()) -> Registry:
        """A registry of every SearchParameter in a Bundle (components resolved within it)."""
        resources = [e["resource"] for e in bundle.get("entry", ())]
        simple = [_param(r, {}) for r in resources if r.get("type") != "composite"]
        by_url = {p.url: p for p in simple}
        composite = [_param(r, by_url) for r in resources if r.get("type") == "composite"]
        return cls([*simple, *composite], disabled=disabled)

    def add(self, resource: Mapping[str, Any]) -> SearchParam:
        """Add (or replace) a custom SearchParameter resource; returns the parsed parameter.

        Raises:
            Unprocessable: the resource is not a usable SearchParameter.
        """
        param = _param(resource, self._by_url)
        if param.expression is None and param.type != "special":
            raise _unusable(f"SearchParameter {param.code!r} has no expression")
        self._put(param)
        return param

    def copy(self) -> Registry:
        """An independent registry with the same parameters (custom ones go into the copy)."""
        clone = Registry(disabled=self._disabled)
        clone._by_url = dict(self._by_url)
        clone._by_base = {base: dict(params) for base, params in self._by_base.items()}
        clone.version = self.version
        return clone

    def for_type(self, resource_type: str) -> Mapping[str, SearchParam]:
        """Every enabled parameter of ``resource_type`` (``Resource``: the common ones)."""
        params = self._per_type.get(resource_type)
        if params is None:
            params = self._collect(resource_type)
            self._per_type[resource_type] = params
        return params

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        """The enabled parameter ``code`` of ``resource_type``, or None."""
        return self.for_type(resource_type).get(code)

    def by_url(self, url: str) -> SearchParam | None:
        """The parameter with the canonical ``url``, or None."""
        return self._by_url.get(url)

    def _put(self, param: SearchParam) -> None:
        self._by_url[param.url] = param
        for base in param.base:
            self._by_base.setdefault(base, {})[param.code] = param
        self._per_type.clear()
        self.version += 1

    def _collect(self, resource_type: str) -> dict[str, SearchParam]:
        bases = ["Resource"]
        if resource_type not in _NOT_DOMAIN_RESOURCES and resource_type != "Resource":
            bases.append("DomainResource")
        bases.append(resource_type)
        params: dict[str, SearchParam] = {}
        for base in bases:
            params.update(self._by_base.get(base, {}))
        return {
            code: param
            for code, param in params.items()
            if code not in self._disabled and f"{resource_type}.{code}" not in self._disabled
        }


@cache
def default_registry(disabled: frozenset[str] = frozenset()) -> Registry:
    """The registry of the R4 parameters (shared, cached per ``disabled`` set)."""
    return Registry.from_bundle(search_parameter_bundle(), disabled=disabled)


def _param(resource: Mapping[str, Any], by_url: Mapping[str, SearchParam]) -> SearchParam:
    if resource.get("resourceType") != "SearchParameter":
        raise _unusable("not a SearchParameter resource")
    code, kind, base = resource.get("code"), resource.get("type"), resource.get("base")
    if not code or not isinstance(kind, str) or kind not in SUPPORTED_MODIFIERS or not base:
        raise _unusable("a SearchParameter needs code, type and base")
    expression = resource.get("expression")
    url = resource.get("url") or f"urn:search-parameter:{'-'.join(base)}-{code}"
    comparators = resource.get("comparator") or (ALL_COMPARATORS if kind in ORDERED_TYPES else ())
    return SearchParam(
        code=code,
        type=cast(ParamType, kind),
        base=tuple(base),
        expression=expression,
        url=url,
        parts=_split_parts(expression, tuple(base)) if expression else (),
        targets=tuple(resource.get("target", ())),
        components=tuple(_component(c, by_url) for c in resource.get("component", ())),
        modifiers=SUPPORTED_MODIFIERS[kind],
        comparators=tuple(comparators),
    )


def _component(component: Mapping[str, Any], by_url: Mapping[str, SearchParam]) -> Component:
    definition = component.get("definition", "")
    param = by_url.get(definition)
    if param is None:
        raise _unusable(f"composite component {definition!r} is not a known SearchParameter")
    return Component(definition, param.code, param.type, component.get("expression", ""))


def _unusable(diagnostics: str) -> Unprocessable:
    return Unprocessable(diagnostics, code="invalid-search-parameter")


def _split_parts(expression: str, base: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    known = set(base) | set(_ABSTRACT_BASES) | resource_types()
    parts: list[tuple[str, str]] = []
    for part in split_union(expression):
        head = _HEAD.match(part)
        name = head.group(1) if head else ""
        if name in known:
            parts.append((name, part))
        else:  # a relative expression (R4 InsurancePlan-name is "name | alias")
            parts.extend((b, f"{b}.{part}") for b in base)
    return tuple(parts)


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression on its top-level ``|`` (not inside parentheses or quotes)."""
    parts: list[str] = []
    depth, start, quoted = 0, 0, False
    for i, ch in enumerate(expression):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]
