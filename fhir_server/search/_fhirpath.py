"""A narrow typed wrapper around fhirpathpy (which ships no type hints) and its R4 model.

https://hl7.org/fhirpath/. Expressions are compiled once and cached. Two R4 quirks are
handled here so every caller sees the same behaviour as the fast path:

* ``resolve()`` cannot read other resources at index time; it yields a node typed by the
  reference's target type, which is what ``where(resolve() is Patient)`` asks.
* ``as`` is read as ``ofType``: R4 definitions apply it to repeating elements
  (``Observation.component.value as Quantity``), where FHIRPath ``as`` demands a singleton.
* ``ofType``/``as`` keep subtypes (``canonical`` is a ``uri``) from the first evaluation on,
  not only after fhirpathpy has met an ``is`` (see ``TypeInfo.model`` below).
* ``value.as(DateTime)`` (a FHIRPath System type, used by ``Observation-code-value-date``)
  is read as the FHIR ``dateTime`` choice the definition intends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode, TypeInfo
from fhirpathpy.models import models

from fhir_server.search._references import reference_type

Evaluator = Callable[[Any, Mapping[str, Any]], list[Any]]
"""Evaluates a compiled expression on ``(node, resource)``; ``%resource`` is the resource."""

_MODEL: dict[str, Any] = models["r4"]
_PATH_TYPES: dict[str, str] = _MODEL["path2Type"]
_CHOICES: dict[str, list[str]] = _MODEL["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
_PARENTS: dict[str, str] = {k.lower(): v.lower() for k, v in _MODEL["type2Parent"].items()}
_BACKBONES = frozenset(path.rsplit(".", 1)[0] for path in _PATH_TYPES)
_node: Callable[[Any, str], Any] = ResourceNode.create_node

# fhirpathpy reads the type hierarchy from this global, which it sets only when an ``is`` or
# ``as`` call runs: until then ``ofType(uri)`` missed a canonical, afterwards it matched,
# so results depended on what the process had evaluated before. Set it once, for good.
TypeInfo.model = _MODEL  # type: ignore[assignment]


def _resolve(inputs: list[Any]) -> list[Any]:
    nodes = []
    for item in inputs:
        target = reference_type(item.get("reference", "")) if isinstance(item, dict) else ""
        if target:
            nodes.append(_node({"resourceType": target}, target))
    return nodes


_PAREN_AS = re.compile(r"\((?P<path>[^()|]+?) as (?P<type>[A-Za-z]+)\)")
_TRAILING_AS = re.compile(r"^(?P<path>[^()|]+?) as (?P<type>[A-Za-z]+)$")
_AS_CALL = re.compile(r"\.as\((?P<type>[A-Za-z]+)\)")


def _normalized(expression: str) -> str:
    expression = _PAREN_AS.sub(r"(\g<path>.ofType(\g<type>))", expression)
    expression = _TRAILING_AS.sub(r"\g<path>.ofType(\g<type>)", expression.strip())
    expression = _AS_CALL.sub(r".ofType(\g<type>)", expression)
    return expression.replace(".ofType(DateTime)", ".ofType(dateTime)")


_OPTIONS = {"userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}}}


@cache
def compile_path(expression: str, base: str | None = None) -> Evaluator:
    """Compile ``expression``; with ``base``, it is relative to an element at that path."""
    compiled = fhirpathpy.compile(_normalized(expression), _MODEL, _OPTIONS)

    def evaluate(node: Any, resource: Mapping[str, Any]) -> list[Any]:
        root = _node(node, base) if base else node
        result: list[Any] = compiled(root, {"resource": resource})
        return result

    return evaluate


def element_type(path: str) -> str | None:
    """The FHIR type of the element at ``path`` (``Observation.code`` -> ``CodeableConcept``)."""
    return _PATH_TYPES.get(path)


def choice_types(path: str) -> tuple[str, ...]:
    """The type suffixes of a choice element (``Observation.value`` -> ``Quantity``, ...)."""
    return tuple(_CHOICES.get(path, ()))


def is_subtype(type_name: str, ancestor: str) -> bool:
    """Whether ``type_name`` is ``ancestor`` or derives from it (``Canonical`` is a ``uri``).

    Case is ignored: choice suffixes are capitalised, FHIRPath names of primitives are not.
    """
    current: str | None = type_name.lower()
    target = ancestor.lower()
    while current is not None:
        if current == target:
            return True
        current = _PARENTS.get(current)
    return False


def is_backbone(path: str) -> bool:
    """Whether ``path`` is a backbone element (it has children but no named type)."""
    return path in _BACKBONES and path not in _PATH_TYPES


def canonical_path(path: str) -> str:
    """``path`` with content references followed (``Questionnaire.item.item`` -> ``.item``)."""
    return _ELSEWHERE.get(path, path)
