"""Simple FHIRPath expressions compiled to direct dict accessors (the extraction fast path).

Most search parameter expressions are plain paths: ``Observation.code``,
``(Observation.effective as dateTime)``, ``Observation.value.ofType(Quantity)``,
``Patient.telecom.where(system='email')``, ``Observation.subject.where(resolve() is
Patient)``, ``Bundle.entry[0].resource``, and unions of them. ``compile_fast`` turns such
an expression into loops over the resource dict, using the R4 model
for choice elements (``Observation.effective`` reads ``effectiveDateTime``,
``effectivePeriod``, ...). Anything else returns None and fhirpathpy evaluates it; the
unit tests prove both give the same index entries. ``compile_exists_flag`` spares
fhirpathpy the common case of ``Patient.deceased``: a patient without the element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from fhir_server.search._fhirpath import (
    Evaluator,
    canonical_path,
    choice_types,
    compile_path,
    element_type,
    is_backbone,
    is_subtype,
)
from fhir_server.search._references import reference_type
from fhir_server.search.registry import split_union

_Keys = tuple[str, ...]
_Step = _Keys | Callable[[list[Any]], list[Any]]
"""The members named by a tuple of keys (a member, or the members of a choice), or a filter."""

_MEMBER = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_INDEXED = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9]*)\[(?P<index>\d+)\]")
_CAST = re.compile(r"(?:as|ofType)\((?P<type>[A-Za-z]+)\)")
_RESOLVE_IS = re.compile(r"where\(resolve\(\) is (?P<type>[A-Z][A-Za-z]+)\)")
_WHERE_EQ = re.compile(r"where\((?P<field>[A-Za-z]+)\s*=\s*'(?P<literal>[^'\\]*)'\)")
_PAREN_AS = re.compile(r"\((?P<path>[A-Za-z0-9.]+) as (?P<type>[A-Za-z]+)\)(?P<rest>.*)")
_TRAILING_AS = re.compile(r"(?P<path>[A-Za-z0-9.]+) as (?P<type>[A-Za-z]+)")
_EXISTS_NOT_FALSE = re.compile(
    r"(?P<path>[A-Za-z][A-Za-z0-9.]*)\.exists\(\) and (?P=path) != false"
)


def compile_fast(expression: str, root: str, *, relative: bool = False) -> Evaluator | None:
    """Compile ``expression`` to an accessor, or None when it is not a simple path.

    The accessor may return a list of the node itself (the values of a repeating element):
    callers read it and never modify it.

    Args:
        expression: the FHIRPath expression (a union of paths).
        root: the resource type, or for ``relative`` the path of the context element.
        relative: the expression starts at an element (composite components), not the type.
    """
    unions: list[list[_Step]] = []
    for part in split_union(expression):
        compiled = _compile_part(part, root, relative=relative)
        if compiled is None:
            return None
        steps = compiled[0]
        previous = unions[-1] if unions else []
        keys, more = (previous[-1], steps[-1]) if previous and steps else (None, None)
        if isinstance(keys, tuple) and isinstance(more, tuple) and previous[:-1] == steps[:-1]:
            # (P.value as Quantity) | (P.value as SampledData): one selection, same order
            previous[-1] = keys + more
        else:
            unions.append(steps)
    if len(unions) == 1:
        return _chain(unions[0])
    chains = [_chain(steps) for steps in unions]

    def union(node: Any, resource: Mapping[str, Any]) -> list[Any]:
        return [value for chain in chains for value in chain(node, resource)]

    return union


def root_keys(expression: str, root: str, *, relative: bool = False) -> frozenset[str] | None:
    """Top-level keys of which a node must hold one for ``expression`` to select anything.

    None when that is not known (the expression is not a simple path from ``root``); a
    caller may skip the expression for a node holding none of the keys. A choice cast
    (``Observation.value as Quantity``) needs only the keys of the types it keeps.
    """
    keys: set[str] = set()
    for part in split_union(expression):
        tokens = _tokens(part, root, relative=relative)
        if not tokens or _RESOLVE_IS.fullmatch(tokens[0]) or _WHERE_EQ.fullmatch(tokens[0]):
            return None
        if _compile_part(part, root, relative=relative) is None:
            return None
        indexed = _INDEXED.fullmatch(tokens[0])
        name = indexed["name"] if indexed else tokens[0]
        if indexed is None and _MEMBER.fullmatch(name) is None:
            return None
        types = choice_types(canonical_path(f"{root}.{name}"))
        cast = _CAST.fullmatch(tokens[1]) if types and len(tokens) > 1 else None
        if cast is not None:
            types = tuple(t for t in types if is_subtype(t, cast["type"]))
        if types:
            keys.update(name + t[0].upper() + t[1:] for t in types)
        else:
            keys.add(name)
    return frozenset(keys)


def element_path(expression: str, root: str) -> str | None:
    """The model path of what a simple path selects (``Observation.component``), or None."""
    compiled = _compile_part(expression, root, relative=False)
    return None if compiled is None else compiled[1]


def compile_exists_flag(expression: str, root: str) -> Evaluator | None:
    """``P.exists() and P != false`` (``Patient.deceased``) with P a simple path, or None.

    Where nothing holds P's keys (nor their ``_`` primitive extensions, which FHIRPath
    also reads) the value is ``false`` without evaluating; otherwise fhirpathpy decides.
    """
    flag = _EXISTS_NOT_FALSE.fullmatch(expression.strip())
    keys = None if flag is None else root_keys(flag["path"], root)
    if keys is None:
        return None
    read = keys | {f"_{key}" for key in keys}
    slow = compile_path(expression)

    def evaluate(node: Any, resource: Mapping[str, Any]) -> list[Any]:
        return [False] if read.isdisjoint(node) else slow(node, resource)

    return evaluate


def _chain(steps: list[_Step]) -> Evaluator:
    """The evaluator of a path: leading members by descent (``_descend``), then step by step."""
    if not steps:
        return lambda node, _resource: [node]
    names: list[str] = []
    for step in steps:
        if not isinstance(step, tuple) or len(step) != 1:
            break
        names.append(step[0])
    if len(steps) == 1 and names:
        return _member_of(names[0])
    path = tuple(names)
    rest = tuple(
        partial(_select, step) if isinstance(step, tuple) else step for step in steps[len(path) :]
    )

    def run(node: Any, _resource: Mapping[str, Any]) -> list[Any]:
        nodes = _descend(node, path) if path else [node]
        for step in rest:
            if not nodes:
                break
            nodes = step(nodes)
        return nodes

    return run


def _member_of(name: str) -> Evaluator:
    """The evaluator of a path of one member (``Observation.status``), the commonest."""

    def run(node: Any, _resource: Mapping[str, Any]) -> list[Any]:
        value = node.get(name) if type(node) is dict else None
        if value is None:
            return []
        return value if type(value) is list else [value]

    return run


def _descend(node: Any, names: tuple[str, ...]) -> list[Any]:
    """The values of the member path ``names`` in ``node``, lists flattened.

    Single elements (``meta``) are followed without building lists; from the first
    repeating element on, the remaining members are selected from each value.
    """
    value = node.get(names[0]) if type(node) is dict else None
    depth = 1
    while value is not None and depth < len(names):
        if type(value) is dict:
            value = value.get(names[depth])
        elif type(value) is list:
            for name in names[depth:]:
                value = _select((name,), value)
            return value
        else:
            return []
        depth += 1
    if value is None:
        return []
    return value if type(value) is list else [value]


def _select(keys: _Keys, nodes: list[Any]) -> list[Any]:
    """The values of ``keys`` in the dict nodes, key by key, lists flattened."""
    out: list[Any] = []
    for key in keys:
        for node in nodes:
            if type(node) is dict:
                value = node.get(key)
                if value is None:
                    continue
                if type(value) is list:
                    out.extend(value)
                else:
                    out.append(value)
    return out


def _tokens(part: str, root: str, relative: bool) -> list[str] | None:
    part = part.strip()
    paren = _PAREN_AS.fullmatch(part)
    if paren is not None:
        part = f"{paren['path']}.as({paren['type']}){paren['rest']}"
    else:
        trailing = _TRAILING_AS.fullmatch(part)
        if trailing is not None:
            part = f"{trailing['path']}.as({trailing['type']})"
    tokens = re.split(r"\.(?![^(]*\))", part)
    if relative:
        return tokens
    if tokens[0] != root:
        return None
    return tokens[1:]


def _compile_part(part: str, root: str, *, relative: bool) -> tuple[list[_Step], str | None] | None:
    tokens = _tokens(part, root, relative)
    if tokens is None:
        return None
    steps: list[_Step] = []
    path: str | None = root
    pending_choice: tuple[str, str] | None = None  # (choice path, member name)
    for token in tokens:
        if pending_choice is not None:
            cast = _CAST.fullmatch(token)
            choice_path, name = pending_choice
            pending_choice = None
            if cast is not None:
                suffix = cast["type"][0].upper() + cast["type"][1:]
                steps.append(_choice(name, choice_path, of_type=cast["type"]))
                path = _next_path(f"{choice_path}{suffix}")
                continue
            steps.append(_choice(name, choice_path))
            path = None
        compiled = _compile_token(token, path)
        if compiled is None:
            return None
        step, path, pending_choice = compiled
        if step is not None:
            steps.append(step)
    if pending_choice is not None:
        steps.append(_choice(pending_choice[1], pending_choice[0]))
        path = None
    return steps, path


def _compile_token(
    token: str, path: str | None
) -> tuple[_Step | None, str | None, tuple[str, str] | None] | None:
    """One token -> (step, path after it, pending choice) or None when unsupported."""
    resolve_is = _RESOLVE_IS.fullmatch(token)
    if resolve_is is not None:
        return _where_resolve_is(resolve_is["type"]), path, None
    where_eq = _WHERE_EQ.fullmatch(token)
    if where_eq is not None:
        return _where_equals(where_eq["field"], where_eq["literal"]), path, None
    indexed = _INDEXED.fullmatch(token)
    name = indexed["name"] if indexed else token
    if path is None or (indexed is None and _MEMBER.fullmatch(token) is None):
        return None
    candidate = canonical_path(f"{path}.{name}")
    if choice_types(candidate):
        if indexed is not None:
            return None
        return None, path, (candidate, name)
    next_path = _next_path(candidate)
    if next_path is None:
        return None
    if indexed is not None:
        return _indexed(name, int(indexed["index"])), next_path, None
    return (name,), next_path, None


def _next_path(candidate: str) -> str | None:
    kind = element_type(candidate)
    if kind is not None:
        return kind.removeprefix("System.")
    return candidate if is_backbone(candidate) else None


def _choice(name: str, choice_path: str, of_type: str | None = None) -> _Keys:
    """The keys of a choice element; with ``of_type``, those of that type or a subtype.

    FHIRPath ``ofType``/``as`` keep subtypes: ``ConceptMap.source as uri`` also selects
    ``sourceCanonical``, as fhirpathpy does.
    """
    types = choice_types(choice_path)
    if of_type is not None:
        types = tuple(t for t in types if is_subtype(t, of_type))
    return tuple(name + t[0].upper() + t[1:] for t in types)


def _indexed(name: str, index: int) -> _Step:
    keys = (name,)

    def step(nodes: list[Any]) -> list[Any]:
        return _select(keys, nodes)[index : index + 1]

    return step


def _where_resolve_is(target: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        return [
            node
            for node in nodes
            if type(node) is dict and reference_type(node.get("reference", "")) == target
        ]

    return step


def _where_equals(field: str, literal: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        return [node for node in nodes if type(node) is dict and node.get(field) == literal]

    return step
