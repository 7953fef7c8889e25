"""``_summary`` and ``_elements``. https://hl7.org/fhir/R4/search.html#summary"""

from __future__ import annotations

from functools import cache
from typing import Any

from conformance.definitions import load

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
_ALWAYS = ("resourceType", "id", "meta")


@cache
def _elements() -> dict[str, dict[str, list[str]]]:
    loaded: dict[str, dict[str, list[str]]] = load("summary-elements.json")
    return loaded


def _keep(resource: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Keep top-level keys named in ``names`` (``value[x]`` keeps ``valueQuantity``)."""
    choices = tuple(n[:-3] for n in names if n.endswith("[x]"))
    kept: dict[str, Any] = {}
    for key, value in resource.items():
        bare = key[1:] if key.startswith("_") else key
        if key in _ALWAYS or bare in names or (choices and bare.startswith(choices)):
            kept[key] = value
    return _mark_subsetted(kept)


def _mark_subsetted(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag", []) if t.get("code") != "SUBSETTED"]
    meta["tag"] = [*tags, SUBSETTED]
    resource["meta"] = meta
    return resource


def summarize(resource: dict[str, Any], mode: str) -> dict[str, Any]:
    """Apply ``_summary=true|text|data|false`` to one resource."""
    spec = _elements().get(resource.get("resourceType", ""), {"summary": [], "mandatory": []})
    if mode == "true":
        return _keep(resource, set(spec["summary"]))
    if mode == "text":
        return _keep(resource, {"text", *spec["mandatory"]})
    if mode == "data":
        return _mark_subsetted({k: v for k, v in resource.items() if k != "text"})
    return resource


def select_elements(resource: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    """Apply ``_elements``: the named top-level elements plus mandatory ones."""
    spec = _elements().get(resource.get("resourceType", ""), {"summary": [], "mandatory": []})
    return _keep(resource, {*elements, *spec["mandatory"]})
