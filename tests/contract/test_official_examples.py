"""Published R4 examples are stored by id, read back unchanged and found, on every backend.

The files in tests/fixtures/r4-official are the R4 (4.0.1) examples as HL7 publishes them
(see the README there). Each is stored with update-as-create, read back equal to what was
sent apart from ``meta.versionId`` and ``meta.lastUpdated``, and searched by ``_id`` and by
every search parameter the registry indexes for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_server.core.resources import ResourceService
from tests.contract.test_examples_findable import searches

OFFICIAL = Path(__file__).parents[1] / "fixtures" / "r4-official"
FILES = sorted(OFFICIAL.glob("*.json"))
SERVER_META = ("versionId", "lastUpdated")


def load(path: Path) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return resource


def without_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` without the meta elements the server sets."""
    meta = {k: v for k, v in resource.get("meta", {}).items() if k not in SERVER_META}
    rest = {k: v for k, v in resource.items() if k != "meta"}
    return {**rest, "meta": meta} if meta else rest


def differences(sent: Any, got: Any, path: str = "") -> list[str]:
    """Where ``got`` differs from ``sent``; numbers compare by value (1.50 == 1.5)."""
    if isinstance(sent, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in sorted(sent.keys() - got.keys())]
        out += [f"{path}.{k}: added" for k in sorted(got.keys() - sent.keys())]
        shared = sorted(sent.keys() & got.keys())
        return out + [d for k in shared for d in differences(sent[k], got[k], f"{path}.{k}")]
    if isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        pairs = enumerate(zip(sent, got, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    numbers = (int, float)
    if (
        isinstance(sent, numbers)
        and isinstance(got, numbers)
        and not isinstance(sent, bool)
        and not isinstance(got, bool)
    ):
        return [] if sent == got else [f"{path}: {sent!r} != {got!r}"]
    return [] if type(sent) is type(got) and sent == got else [f"{path}: {sent!r} != {got!r}"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_is_stored_unchanged_and_found(service: ResourceService, path: Path) -> None:
    resource = load(path)
    resource_type, id = resource["resourceType"], resource["id"]
    assert service.update(resource, resource_type, id).created
    stored = service.read(resource_type, id).resource()
    assert differences(without_server_meta(resource), without_server_meta(stored)) == []
    missed = []
    for name, value in [("_id", id), *searches(service, stored)]:
        query, issues = service.parse([resource_type], [(name, value)], strict=True)
        assert issues == []
        if id not in {v.id for v in service.search(query).entries}:
            missed.append(f"{name}={value}")
    assert missed == []


def test_differences_compare_numbers_by_value_but_not_booleans() -> None:
    assert differences({"value": 1.50, "n": [1]}, {"value": 1.5, "n": [1.0]}) == []
    assert differences({"flag": True}, {"flag": 1}) == [".flag: True != 1"]
    assert differences({"a": "x"}, {"a": "x", "b": None}) == [".b: added"]
    assert differences({"a": ["x"]}, {}) == [".a: missing"]
    assert differences({"a": ["x", "y"]}, {"a": ["x"]}) == [".a: ['x', 'y'] != ['x']"]


def test_the_examples_cover_many_resource_types() -> None:
    types = {load(p)["resourceType"] for p in FILES}
    assert len(FILES) >= 60
    assert len(types) >= 60
