"""HTTP semantics of create, read, vread, update, patch and delete."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import observation, patient

FHIR = "application/fhir+json"


def test_create_then_read_with_headers(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient(), headers={"Content-Type": FHIR})
    assert created.status_code == 201
    body = created.json()
    assert body["meta"]["versionId"] == "1"
    assert created.headers["ETag"] == 'W/"1"'
    assert created.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert created.headers["content-type"].startswith("application/fhir+json")
    read = client.get(f"/fhir/Patient/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body
    assert "Last-Modified" in read.headers


def test_client_id_on_create_is_ignored(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json={**patient(), "id": "mine"})
    assert created.status_code == 201
    assert created.json()["id"] != "mine"


def test_update_if_match_and_vread(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient()).json()["id"]
    stale = client.put(
        f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers={"If-Match": 'W/"9"'}
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    ok = client.put(
        f"/fhir/Patient/{pid}",
        json={**patient(family="Jones"), "id": pid},
        headers={"If-Match": 'W/"1"'},
    )
    assert ok.status_code == 200
    assert ok.headers["ETag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json()["name"][0]["family"] == "Smith"


def test_update_as_create_returns_201(client: TestClient) -> None:
    put = client.put("/fhir/Patient/abc-1", json={**patient(), "id": "abc-1"})
    assert put.status_code == 201
    assert put.json()["id"] == "abc-1"


def test_put_with_mismatched_id_is_400(client: TestClient) -> None:
    put = client.put("/fhir/Patient/abc-1", json={**patient(), "id": "other"})
    assert put.status_code == 400


def test_delete_then_read_is_gone(client: TestClient) -> None:
    pid = client.post("/fhir/Observation", json=observation()).json()["id"]
    assert client.delete(f"/fhir/Observation/{pid}").status_code == 204
    gone = client.get(f"/fhir/Observation/{pid}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    assert client.delete(f"/fhir/Observation/{pid}").status_code == 204


def test_delete_of_an_id_that_never_existed_is_204_and_writes_nothing(
    client: TestClient,
) -> None:
    """R4 http.html#delete: "or if the resource does not exist at all ... 204 No Content"."""
    response = client.delete("/fhir/Observation/never-existed")
    assert response.status_code == 204
    assert client.get("/fhir/Observation/never-existed").status_code == 404
    assert client.get("/fhir/_history").json()["total"] == 0
    assert client.delete("/fhir/NotAType/x").status_code == 404


def test_json_patch(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient()).json()["id"]
    ops = [{"op": "replace", "path": "/gender", "value": "male"}]
    patched = client.patch(
        f"/fhir/Patient/{pid}",
        content=__import__("json").dumps(ops),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200
    assert patched.json()["gender"] == "male"
    assert patched.json()["meta"]["versionId"] == "2"


def test_prefer_return_minimal_and_outcome(client: TestClient) -> None:
    minimal = client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert "Location" in minimal.headers
    outcome = client.post(
        "/fhir/Patient", json=patient(), headers={"Prefer": "return=OperationOutcome"}
    )
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_summary_and_elements_on_read(client: TestClient) -> None:
    body = {**patient(), "text": {"status": "generated", "div": "<div>x</div>"}}
    pid = client.post("/fhir/Patient", json=body).json()["id"]
    summary = client.get(f"/fhir/Patient/{pid}?_summary=true").json()
    assert "text" not in summary
    assert summary["meta"]["tag"][0]["code"] == "SUBSETTED"
    elements = client.get(f"/fhir/Patient/{pid}?_elements=gender").json()
    assert set(elements) == {"resourceType", "id", "meta", "gender"}
    pretty = client.get(f"/fhir/Patient/{pid}?_pretty=true")
    assert b"\n  " in pretty.content
