"""``Patient/$everything``: the patient and its compartment, paged, narrowed, since."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import observation, patient


def _record(client: TestClient, pid: str) -> None:
    assert client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": pid}).status_code == 201
    for minute in range(3):
        effective = f"2024-01-01T10:0{minute}:00Z"
        body = observation(subject=f"Patient/{pid}", effective=effective)
        assert client.post("/fhir/Observation", json=body).status_code == 201
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "subject": {"reference": f"Patient/{pid}"},
        "class": {"code": "AMB"},
    }
    assert client.post("/fhir/Encounter", json=encounter).status_code == 201


def _types(bundle: dict[str, Any]) -> list[str]:
    return sorted(e["resource"]["resourceType"] for e in bundle.get("entry", []))


def test_everything_returns_the_patient_and_its_compartment_only(client: TestClient) -> None:
    _record(client, "ev1")
    _record(client, "ev2")
    response = client.get("/fhir/Patient/ev1/$everything")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert _types(bundle) == ["Encounter", "Observation", "Observation", "Observation", "Patient"]
    ids = {
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    }
    assert ids == {"ev1"}
    assert bundle["total"] == 5


def test_everything_pages_and_narrows(client: TestClient) -> None:
    _record(client, "ev3")
    first = client.get("/fhir/Patient/ev3/$everything?_count=2").json()
    assert len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "/Patient/ev3/$everything" in next_url
    narrowed = client.get("/fhir/Patient/ev3/$everything?_type=Observation").json()
    assert _types(narrowed) == ["Observation"] * 3


def test_everything_since_keeps_what_changed(client: TestClient) -> None:
    _record(client, "ev4")
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat(timespec="milliseconds")
    time.sleep(0.01)
    changed = client.put("/fhir/Patient/ev4", json={**patient(family="New"), "id": "ev4"})
    assert changed.status_code == 200
    bundle = client.get("/fhir/Patient/ev4/$everything", params={"_since": since}).json()
    assert _types(bundle) == ["Patient"]


def test_everything_errors(client: TestClient) -> None:
    assert client.get("/fhir/Patient/nobody/$everything").status_code == 404
    _record(client, "ev5")
    refused = client.get("/fhir/Patient/ev5/$everything?start=2024-01-01")
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["code"] == "not-supported"
    assert client.delete("/fhir/Patient/ev5").status_code in (200, 204)
    assert client.get("/fhir/Patient/ev5/$everything").status_code == 410


def test_capability_statement_lists_everything(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    (resource,) = (r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    names = {op["name"] for op in resource["operation"]}
    assert "everything" in names
