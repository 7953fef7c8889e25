"""FHIRPath Patch: a ``Parameters`` resource of operations. https://hl7.org/fhir/R4/fhirpatch.html

Each ``operation`` parameter has a ``type`` (add, insert, delete, replace, move), a FHIRPath
``path`` and, as the type needs, ``name``, ``value``, ``index``, ``source``, ``destination``.
Paths are evaluated with fhirpathpy on the working copy of the resource, so every operation
sees the result of the ones before it. A ``value`` is a ``value[x]`` or, for a complex data
type, nested ``part`` parameters (``{"name": "value", "part": [...]}``).

Errors: a malformed Parameters resource is an :class:`InvalidRequest` (400); a patch that
does not fit the resource (a path matching nothing or several elements, an index out of
range, adding a second value to a non-repeating element) is :class:`Unprocessable` (422).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from conformance.definitions import json_schema
from fhir_server.errors import InvalidRequest, Unprocessable

_TYPES = frozenset({"add", "insert", "delete", "replace", "move"})
_STEP = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_OPTIONS = {"returnRawData": True}
Container = dict[str, Any] | list[Any]


def is_fhirpath_patch(body: Any) -> bool:
    """True when ``body`` is a Parameters resource (a FHIRPath Patch document)."""
    return isinstance(body, dict) and body.get("resourceType") == "Parameters"


def _value_of(parameter: dict[str, Any]) -> Any:
    """The value a parameter carries: ``value[x]``, a resource, or its parts as an object."""
    for key, value in parameter.items():
        if key.startswith("value") and key != "value":
            return copy.deepcopy(value)
    if "resource" in parameter:
        return copy.deepcopy(parameter["resource"])
    parts = parameter.get("part")
    if isinstance(parts, list) and parts:
        result: dict[str, Any] = {}
        for part in parts:
            name = part.get("name") if isinstance(part, dict) else None
            if not isinstance(name, str):
                raise InvalidRequest("Every part of a patch value needs a name")
            result[name] = _value_of(part)
        return result
    raise InvalidRequest(f"Patch parameter {parameter.get('name')!r} has no value")


def _operations(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation's parts by name (``value`` holds the decoded value)."""
    operations = []
    for index, parameter in enumerate(parameters.get("parameter") or []):
        if not isinstance(parameter, dict) or parameter.get("name") != "operation":
            raise InvalidRequest(f"Parameters.parameter[{index}] is not an 'operation'")
        parts: dict[str, Any] = {}
        for part in parameter.get("part") or []:
            if not isinstance(part, dict) or not isinstance(part.get("name"), str):
                raise InvalidRequest(f"Operation {index} has a part without a name")
            parts[part["name"]] = _value_of(part)
        if parts.get("type") not in _TYPES:
            raise InvalidRequest(f"Operation {index} has an unknown type {parts.get('type')!r}")
        if not isinstance(parts.get("path"), str) or not parts["path"]:
            raise InvalidRequest(f"Operation {index} needs a path")
        parts["#"] = index
        operations.append(parts)
    if not operations:
        raise InvalidRequest("A FHIRPath Patch needs at least one operation")
    return operations


def _evaluate(resource: dict[str, Any], path: str) -> list[Any]:
    try:
        nodes: list[Any] = fhirpathpy.evaluate(resource, path, model=models["r4"], options=_OPTIONS)
    except Exception as exc:  # fhirpathpy raises bare exceptions on syntax errors
        raise InvalidRequest(f"Invalid FHIRPath {path!r}: {exc}") from exc
    return nodes


def _key(holder: dict[str, Any], name: str) -> str:
    """The JSON key of element ``name`` in ``holder`` (choice ``deceased``: ``deceasedBoolean``)."""
    if name in holder:
        return name
    for key in holder:
        if key.startswith(name) and key[len(name) : len(name) + 1].isupper():
            return key
    return name


def _locate(resource: dict[str, Any], node: Any) -> tuple[Container, str | int]:
    """The container and key (or index) holding the element a FHIRPath node designates."""
    steps = str(getattr(node, "propName", None) or "").split(".")[1:]
    if not steps:
        raise Unprocessable("A patch may not delete or replace the resource itself")
    holder: Any = resource
    for position, step in enumerate(steps):
        match = _STEP.match(step)
        if match is None or not isinstance(holder, dict):
            raise Unprocessable(f"Cannot locate {node.propName!r} in the resource")
        key = _key(holder, match.group(1))
        last = position == len(steps) - 1
        value = holder.get(key)
        if isinstance(value, list):
            index = int(match.group(2) or 0)
            if last:
                return value, index
            holder = value[index]
        elif last:
            return holder, key
        else:
            holder = value
    raise Unprocessable(f"Cannot locate {node.propName!r} in the resource")


def _one(resource: dict[str, Any], path: str) -> Any:
    nodes = _evaluate(resource, path)
    if len(nodes) != 1:
        raise Unprocessable(f"The path {path!r} matches {len(nodes)} elements, not one")
    return nodes[0]


def _definition_name(type_path: str) -> str:
    return "_".join(part[:1].upper() + part[1:] for part in type_path.split("."))


@cache
def _repeats(type_path: str, name: str) -> bool:
    definition = json_schema().get("definitions", {}).get(_definition_name(type_path), {})
    prop = definition.get("properties", {}).get(name, {})
    return bool(prop.get("type") == "array")


def _list_at(resource: dict[str, Any], path: str) -> list[Any]:
    nodes = _evaluate(resource, path)
    if not nodes:
        raise Unprocessable(f"The path {path!r} matches no list")
    container, key = _locate(resource, nodes[0])
    target: Any = container if isinstance(container, list) else container[str(key)]
    if not isinstance(target, list):
        raise Unprocessable(f"The path {path!r} is not a list")
    return target


def _index(parts: dict[str, Any], name: str, upper: int) -> int:
    value = parts.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"Operation {parts['#']} needs an integer {name}")
    if not 0 <= value <= upper:
        raise Unprocessable(f"Operation {parts['#']}: {name} {value} is out of range 0..{upper}")
    return value


def _add(resource: dict[str, Any], parts: dict[str, Any]) -> None:
    node = _one(resource, parts["path"])
    name, parent = parts.get("name"), node.data
    if not isinstance(name, str) or not isinstance(parent, dict):
        raise InvalidRequest(f"Operation {parts['#']} (add) needs a name and an element path")
    if "value" not in parts:
        raise InvalidRequest(f"Operation {parts['#']} (add) needs a value")
    existing = parent.get(name)
    if isinstance(existing, list):
        existing.append(parts["value"])
    elif existing is not None:
        raise Unprocessable(f"{parts['path']}.{name} already has a value; use replace")
    elif _repeats(str(node.path), name):
        parent[name] = [parts["value"]]
    else:
        parent[name] = parts["value"]


def _remove(container: Container, key: str | int) -> None:
    if isinstance(container, list):
        assert isinstance(key, int)
        del container[key]
    else:
        assert isinstance(key, str)
        del container[key]


def _apply(resource: dict[str, Any], parts: dict[str, Any]) -> None:
    kind, path = parts["type"], parts["path"]
    if kind == "add":
        _add(resource, parts)
    elif kind == "delete":
        nodes = _evaluate(resource, path)
        if len(nodes) > 1:
            raise Unprocessable(f"The path {path!r} matches {len(nodes)} elements; delete one")
        if nodes:
            _remove(*_locate(resource, nodes[0]))
    elif kind == "replace":
        if "value" not in parts:
            raise InvalidRequest(f"Operation {parts['#']} (replace) needs a value")
        container, key = _locate(resource, _one(resource, path))
        container[key] = parts["value"]  # type: ignore[index]
    elif kind == "insert":
        target = _list_at(resource, path)
        if "value" not in parts:
            raise InvalidRequest(f"Operation {parts['#']} (insert) needs a value")
        target.insert(_index(parts, "index", len(target)), parts["value"])
    else:
        target = _list_at(resource, path)
        item = target.pop(_index(parts, "source", len(target) - 1))
        target.insert(_index(parts, "destination", len(target)), item)


def _prune(holder: Any) -> None:
    """Drop lists and objects a delete or move left empty (FHIR forbids empty elements)."""
    if isinstance(holder, dict):
        for key in list(holder):
            _prune(holder[key])
            if holder[key] in ([], {}):
                del holder[key]
    elif isinstance(holder, list):
        for item in holder:
            _prune(item)


def apply_fhirpath_patch(resource: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with the operations of ``parameters`` applied in order (a new object)."""
    operations = _operations(parameters)
    patched = copy.deepcopy(resource)
    for parts in operations:
        _apply(patched, parts)
    _prune(patched)
    return patched
