"""Shared test data for the terminology tests: a stored-resource source and small resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir_server.errors import NotFound
from terminology.params import Inputs, Signature
from terminology.registry import Registry

JSON = dict[str, Any]
SHAPES = "http://example.org/CodeSystem/shapes"


class MemorySource:
    """Stored resources in memory: read by id, search by url and version (newest first)."""

    def __init__(self, *resources: JSON) -> None:
        self.resources = list(resources)
        self.searches: list[tuple[str, list[tuple[str, str]]]] = []

    def read(self, resource_type: str, id: str) -> JSON:
        for resource in self.resources:
            if resource["resourceType"] == resource_type and resource.get("id") == id:
                return resource
        raise NotFound(f"{resource_type}/{id} is not known")

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> list[JSON]:
        self.searches.append((resource_type, list(params)))
        wanted = {k: v for k, v in params if k in ("url", "version")}
        found = [
            r
            for r in self.resources
            if r["resourceType"] == resource_type and all(r.get(k) == v for k, v in wanted.items())
        ]
        return found[::-1]


def registry(*stored: JSON) -> Registry:
    return Registry(MemorySource(*stored))


def call(signature: Signature, **params: Any) -> Inputs:
    """Inputs as a Parameters body would give them (Python values by FHIR type)."""
    entries = []
    for name, value in params.items():
        name = name.replace("_", "-")
        kind = signature.params.get(name, "text")
        if kind == "resource":
            entries.append({"name": name, "resource": value})
        elif kind in ("Coding", "CodeableConcept"):
            entries.append({"name": name, f"value{kind}": value})
        elif kind == "boolean":
            entries.append({"name": name, "valueBoolean": value})
        elif kind == "integer":
            entries.append({"name": name, "valueInteger": value})
        else:
            values = value if isinstance(value, list) else [value]
            entries.extend({"name": name, "valueString": v} for v in values)
    return Inputs.from_body(signature, {"resourceType": "Parameters", "parameter": entries})


def shapes(**extra: Any) -> JSON:
    """A small hierarchical code system: shape > polygon > (triangle, square); shape > circle."""
    return {
        "resourceType": "CodeSystem",
        "id": "shapes",
        "url": SHAPES,
        "version": "1",
        "name": "Shapes",
        "status": "active",
        "content": "complete",
        "hierarchyMeaning": "is-a",
        "property": [
            {"code": "sides", "type": "integer"},
            {"code": "notSelectable", "type": "boolean"},
            {"code": "status", "type": "code"},
        ],
        "concept": [
            {
                "code": "shape",
                "display": "Shape",
                "property": [{"code": "notSelectable", "valueBoolean": True}],
                "concept": [
                    {
                        "code": "polygon",
                        "display": "Polygon",
                        "concept": [
                            {
                                "code": "triangle",
                                "display": "Triangle",
                                "definition": "Three sides.",
                                "property": [{"code": "sides", "valueInteger": 3}],
                                "designation": [{"language": "de", "value": "Dreieck"}],
                            },
                            {
                                "code": "square",
                                "display": "Square",
                                "property": [{"code": "sides", "valueInteger": 4}],
                            },
                        ],
                    },
                    {"code": "circle", "display": "Circle"},
                ],
            },
            {
                "code": "blob",
                "display": "Blob",
                "property": [{"code": "status", "valueCode": "retired"}],
            },
        ],
        **extra,
    }


def value_set(url: str, *includes: JSON, excludes: Sequence[JSON] = (), **extra: Any) -> JSON:
    compose: JSON = {"include": list(includes)}
    if excludes:
        compose["exclude"] = list(excludes)
    return {
        "resourceType": "ValueSet",
        "id": url.rsplit("/", 1)[-1],
        "url": url,
        "status": "active",
        "compose": compose,
        **extra,
    }


def codes(expanded: JSON) -> list[str]:
    return [c["code"] for c in expanded["expansion"].get("contains", [])]


def out(parameters: JSON, name: str) -> Any:
    """The value of the first output parameter ``name`` (None when absent)."""
    for entry in parameters["parameter"]:
        if entry["name"] == name:
            return next(v for k, v in entry.items() if k.startswith("value"))
    return None
