"""Every R4 resource type, minimal and rich (``tests/support/generate``), on every backend.

For each type and shape: create, read, update to version 2, history, search by ``_id``
and by every index entry the extractor produced, delete and a 410 read. The fast path and
fhirpathpy must produce the same index entries for every generated resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.validator import validate_resource
from fhir_server.core.ports import HistoryQuery
from fhir_server.core.resources import ResourceService
from fhir_server.errors import Gone
from fhir_server.search.extract import extract
from fhir_server.search.registry import default_registry
from tests.contract.test_examples_findable import searches
from tests.factories import patient
from tests.support.generate import all_types, minimal, rich

SHAPES: dict[str, Callable[[str], dict[str, Any]]] = {
    "minimal": minimal,
    "rich-0": lambda t: rich(t, 0),
    "rich-1": lambda t: rich(t, 1),
}
TYPES = all_types()


def test_every_generated_resource_is_valid_and_deterministic() -> None:
    invalid = {}
    for resource_type in TYPES:
        for shape, make in SHAPES.items():
            resource = make(resource_type)
            assert resource == make(resource_type)
            issues = validate_resource(resource)
            if issues:
                invalid[f"{resource_type}/{shape}"] = [i.diagnostics for i in issues[:3]]
    assert len(TYPES) == 146
    assert invalid == {}


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_path_and_fhirpathpy_index_the_same_entries(shape: str) -> None:
    registry = default_registry(frozenset())
    differ = {}
    for resource_type in TYPES:
        resource = SHAPES[shape](resource_type)
        fast, slow = (
            set(extract(resource, registry)),
            set(extract(resource, registry, fast_path=False)),
        )
        if fast != slow:
            differ[resource_type] = (sorted(map(str, fast - slow)), sorted(map(str, slow - fast)))
    assert differ == {}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("resource_type", TYPES)
def test_type_survives_create_read_search_history_delete(
    service: ResourceService, resource_type: str, shape: str
) -> None:
    resource = SHAPES[shape](resource_type)
    created = service.create(resource, resource_type).version
    id = created.id
    stored = service.read(resource_type, id).resource()
    assert {k: v for k, v in stored.items() if k not in ("id", "meta")} == {
        k: v for k, v in resource.items() if k not in ("id", "meta")
    }

    changed = {**stored, "language": "de"}
    updated = service.update(changed, resource_type, id).version
    assert updated.version_id == 2
    assert service.read(resource_type, id).resource()["language"] == "de"
    history = service.history(HistoryQuery(resource_type, id))
    assert [v.version_id for v in history.entries] == [2, 1]

    current = service.read(resource_type, id).resource()
    missed = []
    pairs = [("_id", id), *searches(service, current)]
    for name, value in pairs:
        query, issues = service.parse([resource_type], [(name, value)], strict=True)
        assert issues == []
        if id not in {v.id for v in service.search(query).entries}:
            missed.append(f"{name}={value}")
    assert missed == []

    service.delete(resource_type, id)
    with pytest.raises(Gone):
        service.read(resource_type, id)


def test_a_parameter_failing_on_valid_content_does_not_refuse_the_write(
    service: ResourceService,
) -> None:
    service.create(
        {
            "resourceType": "SearchParameter",
            "url": "http://example.org/fhir/SearchParameter/family-tail",
            "name": "family-tail",
            "status": "active",
            "description": "The family name without its first letter",
            "code": "family-tail",
            "base": ["Patient"],
            "type": "string",
            "expression": "Patient.name.family.substring(1)",  # fails on two family names
        },
        "SearchParameter",
    )
    one = service.create(patient(family="Smith"), "Patient").version.id
    two = service.create(
        patient(family="Jones", name=[{"family": "Jones"}, {"family": "Brown"}]), "Patient"
    ).version.id
    assert service.read("Patient", two).version_id == 1
    assert found(service, "family-tail", "mith") == {one}
    assert found(service, "family", "brown") == {two}


def found(service: ResourceService, name: str, value: str) -> set[str]:
    query, issues = service.parse(["Patient"], [(name, value)], strict=True)
    assert issues == []
    return {v.id for v in service.search(query).entries}
