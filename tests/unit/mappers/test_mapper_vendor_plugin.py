from __future__ import annotations

import ast
import json
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from mapper_fixtures import assert_valid, make_ctx, of_type

from fhir_server.ingest import registry
from fhir_server.ingest.registry import GROUP, discover
from fhir_server.ingest.spec import MappingError

PLUGIN = Path(__file__).resolve().parents[3] / "examples" / "vendor-plugin"
WEIGHING = {
    "scaleId": "LS-0042F1",
    "userMrn": "PATID1234",
    "weighedAt": "2024-03-22T07:12:00+01:00",
    "weightKg": 81.4,
    "bmi": 24.9,
}


@pytest.fixture
def plugin_registry(monkeypatch: pytest.MonkeyPatch) -> registry.MapperRegistry:
    """Discovery through the entry point the plugin's pyproject declares."""
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    declared = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    points = declared["project"]["entry-points"][GROUP]
    eps = [EntryPoint(name, value, GROUP) for name, value in points.items()]
    monkeypatch.setattr(registry, "entry_points", lambda *, group: eps if group == GROUP else [])
    return discover(None)


def test_the_plugin_declares_its_entry_point() -> None:
    declared = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    assert declared["project"]["entry-points"][GROUP] == {
        "libra-scale": "libra_scale.mapper:LibraScaleMapper"
    }


def test_the_plugin_imports_only_the_public_spec() -> None:
    tree = ast.parse((PLUGIN / "src" / "libra_scale" / "mapper.py").read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m for m in modules if m.startswith("fhir_server")} == {"fhir_server.ingest.spec"}


def test_discovered_plugin_maps_a_weighing(plugin_registry: registry.MapperRegistry) -> None:
    mapper = plugin_registry.get("libra-scale")
    assert mapper is not None
    mapped = assert_valid(mapper.map(json.dumps(WEIGHING).encode(), make_ctx("placeholder")))
    assert mapped.message_key == "libra|LS-0042F1|2024-03-22T07:12:00+01:00"
    assert [r["resourceType"] for r in mapped.resources] == [
        "Patient",
        "Device",
        "Observation",
        "Observation",
    ]
    weight, bmi = of_type(mapped, "Observation")
    assert weight["valueQuantity"] == {
        "value": 81.4,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }
    assert bmi["code"]["coding"][0]["code"] == "39156-5"


def test_plugin_redelivery_is_harmless(plugin_registry: registry.MapperRegistry) -> None:
    mapper = plugin_registry.get("libra-scale")
    assert mapper is not None
    payload = json.dumps(WEIGHING).encode()
    assert mapper.map(payload, make_ctx()) == mapper.map(payload, make_ctx())


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"[1, 2]", "malformed"),
        (b"{oops", "malformed"),
        (json.dumps({**WEIGHING, "weightKg": None}).encode(), "required-missing"),
        (json.dumps({**WEIGHING, "weighedAt": "last tuesday"}).encode(), "invalid-value"),
    ],
)
def test_plugin_errors(plugin_registry: registry.MapperRegistry, payload: bytes, code: str) -> None:
    mapper = plugin_registry.get("libra-scale")
    assert mapper is not None
    with pytest.raises(MappingError) as caught:
        mapper.map(payload, make_ctx())
    assert caught.value.code == code
