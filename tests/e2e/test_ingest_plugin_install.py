"""The example third-party mapper, pip-installed for real, is found and used by the server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server

pytestmark = pytest.mark.e2e
PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "vendor-plugin"
LOINC = "http://loinc.org"
WEIGHING = {
    "scaleId": "LS-0042F1",
    "userMrn": "PATID1234",
    "weighedAt": "2024-03-22T07:12:00+01:00",
    "weightKg": 81.4,
    "bmi": 24.9,
}
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:1.2.840.114350.1.13.99998.8734", "value": "PATID1234"}],
}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``pip install --target`` of the plugin, built from a copy (pip writes build files)."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(
        PLUGIN, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    site = work / "site"
    # Offline: the build runs on the venv's setuptools, which needs bdist_wheel (>= 70.1).
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    pip += ["--no-index", "--quiet", "--target", str(site), str(source)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


@pytest.fixture(scope="module")
def plugin_server(
    tmp_path_factory: pytest.TempPathFactory, plugin_site: Path
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("plugin-server")
    with running_server(data_dir, env={"PYTHONPATH": str(plugin_site)}) as process:
        yield process


def _ingest(server: ServerProcess) -> httpx.Response:
    return httpx.post(
        f"{server.root_url}/ingest/libra-scale",
        content=json.dumps(WEIGHING).encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def _observations(server: ServerProcess, code: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.base_url}/Observation", params={"code": f"{LOINC}|{code}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return [entry["resource"] for entry in response.json().get("entry", [])]


def test_installed_plugin_turns_a_weighing_into_searchable_observations(
    plugin_server: ServerProcess,
) -> None:
    created = httpx.post(f"{plugin_server.base_url}/Patient", json=PATIENT, timeout=10)
    assert created.status_code == 201, created.text
    subject = {"reference": f"Patient/{created.json()['id']}"}

    first = _ingest(plugin_server)
    assert first.status_code == 200, f"{first.text}\n{plugin_server.log()}"
    assert first.json()["state"] == "processed"
    (weight,) = _observations(plugin_server, "29463-7")
    (bmi,) = _observations(plugin_server, "39156-5")
    assert weight["valueQuantity"] == {
        "value": 81.4,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }
    assert bmi["valueQuantity"]["value"] == 24.9
    assert weight["subject"] == bmi["subject"] == subject

    again = _ingest(plugin_server)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert _observations(plugin_server, "29463-7") == [weight]
    assert _observations(plugin_server, "39156-5") == [bmi]
    devices = httpx.get(
        f"{plugin_server.base_url}/Device", params={"identifier": "urn:libra:scale-id|LS-0042F1"}
    )
    assert len(devices.json()["entry"]) == 1


def test_without_the_plugin_the_mapper_is_unknown(server: ServerProcess) -> None:
    response = _ingest(server)
    assert response.status_code == 404, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["code"] == "not-found"
    assert issue["details"]["coding"][0]["code"] == "unknown-mapper"
    assert "libra-scale" in issue["diagnostics"]
