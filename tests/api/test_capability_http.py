"""The CapabilityStatement tells the truth: what it lists works, what it omits is refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import observation, patient


def _resource(client: TestClient, resource_type: str) -> dict[str, Any]:
    statement = client.get("/fhir/metadata").json()
    entry: dict[str, Any] = next(
        r for r in statement["rest"][0]["resource"] if r["type"] == resource_type
    )
    return entry


def test_statement_describes_r4_json_and_the_patch_formats(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance"
    assert "application/fhir+json" in statement["format"]
    assert set(statement["patchFormat"]) == {
        "application/json-patch+json",
        "application/fhir+json",
        "application/merge-patch+json",
    }
    assert statement["rest"][0]["compartment"] == [
        "http://hl7.org/fhir/CompartmentDefinition/patient"
    ]
    assert len(statement["rest"][0]["resource"]) == 146


def test_every_listed_include_of_observation_is_accepted(client: TestClient) -> None:
    includes = _resource(client, "Observation")["searchInclude"]
    assert "Observation:subject" in includes
    assert "Observation:code" not in includes, "code is a token, not a reference"
    for value in includes:
        response = client.get("/fhir/Observation", params={"_include": value})
        assert response.status_code == 200, (value, response.text)


def test_listed_revincludes_reach_the_type_and_work(client: TestClient) -> None:
    revincludes = _resource(client, "Patient")["searchRevInclude"]
    assert "Observation:subject" in revincludes
    assert "Observation:code" not in revincludes
    assert all(":" in value and value != "*" for value in revincludes)
    created = client.post("/fhir/Patient", json=patient()).json()
    client.post("/fhir/Observation", json=observation(subject=f"Patient/{created['id']}"))
    bundle = client.get(
        "/fhir/Patient",
        params={"_id": created["id"], "_revinclude": "Observation:subject"},
        headers={"prefer": "handling=strict"},
    ).json()
    modes = sorted(e["search"]["mode"] for e in bundle["entry"])
    assert modes == ["include", "match"]


def test_every_listed_search_parameter_is_accepted(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    observation_params = {
        p["name"]
        for r in statement["rest"][0]["resource"]
        if r["type"] == "Observation"
        for p in r["searchParam"]
    }
    assert {"code", "subject", "date", "value-quantity", "component-code-value-quantity"} <= (
        observation_params
    )
    checked = ("Observation", "Patient", "Device", "Encounter", "Location", "Bundle")
    params = [
        (r["type"], p)
        for r in statement["rest"][0]["resource"]
        if r["type"] in checked
        for p in r["searchParam"]
    ]
    for resource_type, param in params:
        response = client.get(
            f"/fhir/{resource_type}",
            params={f"{param['name']}:missing": "true"},
            headers={"prefer": "handling=strict"},
        )
        assert response.status_code == 200, (param["name"], response.text)
