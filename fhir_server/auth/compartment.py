"""The Patient compartment (R4 CompartmentDefinition), as the access policy needs it.

For each resource type: the search parameters that place a resource in a patient's
compartment, and the element paths behind them (from the parameters' FHIRPath expressions,
which for this compartment are all plain paths, some with ``.where(resolve() is Patient)``),
so a resource's compartment membership can be decided by walking the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from conformance.definitions import patient_compartment, search_parameter_bundle

_PATIENT_FILTER = ".where(resolve() is Patient)"
_PLAIN_PATH = re.compile(r"[A-Za-z]+(\.[A-Za-z]+)+")


@cache
def compartment_params(resource_type: str) -> tuple[str, ...]:
    """The Patient compartment parameters of a type; empty when it is not in the compartment."""
    return _params().get(resource_type, ())


def patient_references(resource: dict[str, Any]) -> set[str]:
    """``Patient/<id>`` for every patient the compartment paths of ``resource`` reference."""
    found: set[str] = set()
    for path in _paths(resource.get("resourceType", "")):
        for value in _walk(resource, path):
            if isinstance(value, dict) and isinstance(value.get("reference"), str):
                normalized = _patient_reference(value["reference"])
                if normalized is not None:
                    found.add(normalized)
    return found


@cache
def _params() -> dict[str, tuple[str, ...]]:
    return {
        entry["code"]: tuple(entry["param"])
        for entry in patient_compartment()["resource"]
        if entry.get("param")
    }


@cache
def _expressions() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for entry in search_parameter_bundle()["entry"]:
        parameter = entry["resource"]
        for base in parameter.get("base", []):
            if parameter.get("expression"):
                found[(base, parameter["code"])] = parameter["expression"]
    return found


@cache
def _paths(resource_type: str) -> tuple[tuple[str, ...], ...]:
    paths: list[tuple[str, ...]] = []
    for param in compartment_params(resource_type):
        expression = _expressions().get((resource_type, param), "")
        for part in expression.split("|"):
            path = part.strip().removesuffix(_PATIENT_FILTER)
            if _PLAIN_PATH.fullmatch(path) and path.startswith(f"{resource_type}."):
                paths.append(tuple(path.split(".")[1:]))
    return tuple(dict.fromkeys(paths))


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
    elif not path:
        yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from _walk(node[path[0]], path[1:])


def _patient_reference(reference: str) -> str | None:
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return f"Patient/{parts[-1]}"
    return None
