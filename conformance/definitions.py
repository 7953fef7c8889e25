"""Access to the vendored official FHIR R4 (4.0.1) definitions in ``conformance/data``.

The files are the HL7-published definitions (CC0), compressed; see ``data/README.md``.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources
from typing import Any

import orjson

FHIR_VERSION = "4.0.1"


def load(name: str) -> Any:
    """A vendored data file, decompressed and parsed."""
    data = resources.files("conformance").joinpath("data", name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return orjson.loads(data)


@cache
def resource_types() -> frozenset[str]:
    """The concrete R4 resource types."""
    return frozenset(load("resource-types.json"))


@cache
def json_schema() -> dict[str, Any]:
    """The official R4 JSON schema (draft-06)."""
    schema: dict[str, Any] = load("fhir.schema.json.gz")
    return schema


@cache
def search_parameter_bundle() -> dict[str, Any]:
    """The Bundle of all R4 SearchParameter resources."""
    bundle: dict[str, Any] = load("search-parameters.json.gz")
    return bundle


@cache
def patient_compartment() -> dict[str, Any]:
    """The R4 Patient CompartmentDefinition."""
    definition: dict[str, Any] = load("compartmentdefinition-patient.json.gz")
    return definition
