"""``ValueSet.compose.include.filter`` over a code system the server holds completely.

https://hl7.org/fhir/R4/valueset-definitions.html#ValueSet.compose.include.filter. Supported:
``is-a``, ``descendent-of``, ``is-not-a`` and ``generalizes`` on ``concept`` (or ``code``);
``=``, ``in``, ``not-in``, ``regex`` on ``concept``/``code``, ``display``, or any concept
property (``parent`` and ``child`` follow the hierarchy); ``exists`` on a property. Anything
else is a :class:`~terminology.errors.CannotEvaluate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from terminology.concepts import Concept, Concepts
from terminology.errors import CannotEvaluate

JSON = dict[str, Any]
_HIERARCHY_OPS = frozenset({"is-a", "descendent-of", "is-not-a", "generalizes"})


def matching(system: Concepts, filter_: JSON) -> set[str]:
    """The codes of ``system`` that satisfy one filter."""
    prop, op, value = (str(filter_.get(k, "")) for k in ("property", "op", "value"))
    if op in _HIERARCHY_OPS:
        if prop not in ("concept", "code"):
            raise CannotEvaluate(f"filter {prop} {op}: {op} applies to the concept property")
        return _hierarchy(system, op, value)
    values = _values(system, prop)
    if op == "exists":
        wanted = value == "true"
        return {c.code for c in system if bool(values(c)) == wanted}
    test = _test(op, value)
    hits = {c.code for c in system if any(test(v) for v in values(c))}
    return {c.code for c in system} - hits if op == "not-in" else hits


def _hierarchy(system: Concepts, op: str, value: str) -> set[str]:
    root = system.get(value)
    if root is None:
        return {c.code for c in system} if op == "is-not-a" else set()
    below = set(system.descendants(root.code))
    if op == "is-a":
        return below | {root.code}
    if op == "descendent-of":
        return below
    if op == "generalizes":
        return set(system.ancestors(root.code)) | {root.code}
    return {c.code for c in system} - below - {root.code}


def _values(system: Concepts, prop: str) -> Callable[[Concept], list[str]]:
    if prop in ("concept", "code"):
        return lambda c: [c.code]
    if prop == "display":
        return lambda c: [c.display] if c.display else []
    if prop == "parent":
        return lambda c: c.parents
    if prop == "child":
        return lambda c: c.children
    declared = {p.get("code") for p in system.resource.get("property", [])}
    if prop not in declared and not any(c.values(prop) for c in system):
        raise CannotEvaluate(f"filter on {prop!r}: {system.url} has no such property")
    return lambda c: c.values(prop)


def _test(op: str, value: str) -> Callable[[str], bool]:
    if op == "=":
        return lambda v: v == value
    if op in ("in", "not-in"):
        wanted = {v.strip() for v in value.split(",")}
        return lambda v: v in wanted
    if op == "regex":
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise CannotEvaluate(f"filter regex {value!r} is not a valid expression") from exc
        return lambda v: pattern.fullmatch(v) is not None
    raise CannotEvaluate(f"the filter operator {op!r} is not supported")
