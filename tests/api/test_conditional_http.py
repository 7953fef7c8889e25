"""Conditional create, update and delete, and history Bundles over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import patient


def test_conditional_create(client: TestClient) -> None:
    headers = {"If-None-Exist": "identifier=urn:mrn|42"}
    first = client.post("/fhir/Patient", json=patient(identifier="42"), headers=headers)
    assert first.status_code == 201
    second = client.post("/fhir/Patient", json=patient(identifier="42"), headers=headers)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_search_parameters_in_a_create_url_are_its_condition(client: TestClient) -> None:
    url = "/fhir/Patient?identifier=urn:mrn|43&_pretty=true"
    first = client.post(url, json=patient(identifier="43"))
    assert first.status_code == 201
    second = client.post(url, json=patient(identifier="43"))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    plain = client.post("/fhir/Patient?_format=json", json=patient(identifier="43"))
    assert plain.status_code == 201  # response parameters alone are no condition
    both = client.post(url, json=patient(), headers={"If-None-Exist": "identifier=urn:mrn|43"})
    assert both.status_code == 400
    unknown = client.post("/fhir/Patient?no-such-param=1", json=patient())
    assert unknown.status_code == 400
    total = client.get("/fhir/Patient?identifier=urn:mrn|43&_summary=count").json()["total"]
    assert total == 2


def test_conditional_create_with_several_matches_is_412(client: TestClient) -> None:
    client.post("/fhir/Patient", json=patient(identifier="9"))
    client.post("/fhir/Patient", json=patient(identifier="9"))
    r = client.post(
        "/fhir/Patient", json=patient(identifier="9"), headers={"If-None-Exist": "identifier=9"}
    )
    assert r.status_code == 412


def test_conditional_update_and_delete_by_id(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient()).json()["id"]
    upd = client.put(f"/fhir/Patient?_id={pid}", json={**patient(family="Cond"), "id": pid})
    assert upd.status_code == 200
    assert upd.json()["meta"]["versionId"] == "2"
    created = client.put("/fhir/Patient?_id=nomatch", json=patient())
    assert created.status_code == 201
    assert client.delete(f"/fhir/Patient?_id={pid}").status_code == 204
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410


def test_history_bundle_and_paging_links(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient()).json()["id"]
    for family in ("B", "C"):
        client.put(f"/fhir/Patient/{pid}", json={**patient(family=family), "id": pid})
    page = client.get(f"/fhir/Patient/{pid}/_history?_count=2").json()
    assert page["type"] == "history"
    assert page["total"] == 3
    assert [e["response"]["etag"] for e in page["entry"]] == ['W/"3"', 'W/"2"']
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    rest = client.get(next_url.replace("http://testserver", "")).json()
    assert [e["request"]["method"] for e in rest["entry"]] == ["POST"]


def test_metadata_lists_every_type(client: TestClient) -> None:
    cs = client.get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in cs["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Device"} <= types
    assert len(types) >= 145


def test_health(client: TestClient) -> None:
    assert client.get("/health/live").json()["status"] == "ok"
    assert client.get("/health/ready").status_code == 200
