"""Every core REST interaction once, over HTTP, against a real ``fhir-server serve`` process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess

FHIR_JSON = "application/fhir+json"


def observation(**extra: Any) -> dict[str, Any]:
    """A heart-rate Observation."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org"},
        **extra,
    }


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client on the server's FHIR base."""
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        yield http


def test_create_read_vread_update_delete(client: httpx.Client) -> None:
    created = client.post("/Observation", json=observation())
    assert created.status_code == 201
    id_ = created.json()["id"]
    assert created.headers["ETag"] == 'W/"1"'
    assert created.headers["Location"].endswith(f"/Observation/{id_}/_history/1")
    assert "Last-Modified" in created.headers

    read = client.get(f"/Observation/{id_}")
    assert read.status_code == 200
    assert read.json()["meta"]["versionId"] == "1"

    changed = {**read.json(), "status": "amended"}
    updated = client.put(f"/Observation/{id_}", json=changed)
    assert updated.status_code == 200
    assert updated.headers["ETag"] == 'W/"2"'

    assert client.get(f"/Observation/{id_}/_history/1").json()["status"] == "final"
    assert client.get(f"/Observation/{id_}/_history/2").json()["status"] == "amended"

    assert client.delete(f"/Observation/{id_}").status_code in (200, 204)
    gone = client.get(f"/Observation/{id_}")
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"


def test_update_as_create_and_patch(client: httpx.Client) -> None:
    id_ = f"client-{uuid.uuid4().hex[:12]}"
    created = client.put(f"/Observation/{id_}", json=observation(id=id_))
    assert created.status_code == 201
    assert created.json()["id"] == id_

    patch = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    patched = client.patch(
        f"/Observation/{id_}",
        content=httpx.Request("PATCH", "/", json=patch).content,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "cancelled"
    assert patched.headers["ETag"] == 'W/"2"'


def test_history_lists_every_version_newest_first(client: httpx.Client) -> None:
    id_ = client.post("/Observation", json=observation()).json()["id"]
    client.put(f"/Observation/{id_}", json=observation(id=id_, status="amended"))
    bundle = client.get(f"/Observation/{id_}/_history").json()
    assert bundle["type"] == "history"
    versions = [e["resource"]["meta"]["versionId"] for e in bundle["entry"]]
    assert versions == ["2", "1"]
    assert client.get("/Observation/_history", params={"_count": 1}).json()["entry"]
    assert client.get("/_history", params={"_count": 1}).json()["type"] == "history"


def test_conditional_create_update_delete(client: httpx.Client) -> None:
    value = uuid.uuid4().hex
    ident: dict[str, Any] = {"identifier": [{"system": "urn:test", "value": value}]}
    condition = f"identifier=urn:test|{value}"
    first = client.post(
        "/Observation", json=observation(**ident), headers={"If-None-Exist": condition}
    )
    again = client.post(
        "/Observation", json=observation(**ident), headers={"If-None-Exist": condition}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]

    updated = client.put(f"/Observation?{condition}", json=observation(**ident, status="amended"))
    assert updated.status_code == 200
    assert updated.json()["id"] == first.json()["id"]
    assert updated.headers["ETag"] == 'W/"2"'

    assert client.delete(f"/Observation?{condition}").status_code in (200, 204)
    assert client.get(f"/Observation/{first.json()['id']}").status_code == 410


def test_transaction_resolves_urn_uuid_references(
    client: httpx.Client, server: ServerProcess
) -> None:
    patient_urn = f"urn:uuid:{uuid.uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_urn,
                "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": observation(subject={"reference": patient_urn}),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = client.post(server.base_url, json=bundle)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["201", "201"]
    patient_id, obs_id = (e["resource"]["id"] for e in entries)
    assert entries[1]["response"]["location"].endswith(f"/Observation/{obs_id}/_history/1")
    subject = client.get(f"/Observation/{obs_id}").json()["subject"]["reference"]
    assert subject == f"Patient/{patient_id}"


def test_batch_entries_fail_independently(client: httpx.Client, server: ServerProcess) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": observation(), "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "GET", "url": f"Observation/{uuid.uuid4()}"}},
        ],
    }
    response = client.post(server.base_url, json=bundle)
    assert response.status_code == 200
    statuses = [e["response"]["status"][:3] for e in response.json()["entry"]]
    assert statuses == ["201", "404"]
