"""Batch and transaction Bundles over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import observation, patient


def _tx(entries: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def test_transaction_resolves_urn_uuid_references(client: TestClient) -> None:
    bundle = _tx(
        [
            {
                "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                "resource": patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
                "resource": observation(subject="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ]
    )
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_id = out["entry"][0]["resource"]["id"]
    obs = out["entry"][1]["resource"]
    assert obs["subject"]["reference"] == f"Patient/{patient_id}"
    assert client.get(f"/fhir/Observation/{obs['id']}").status_code == 200


def test_failing_transaction_leaves_nothing_and_names_the_entry(client: TestClient) -> None:
    bundle = _tx(
        [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**observation(), "status": "not-a-status"},
                "request": {"method": "POST", "url": "Observation"},
            },
        ]
    )
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 400
    assert "Bundle.entry[1]" in r.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/_history").json()["total"] == 0


def test_transaction_conditional_create_and_reference(client: TestClient) -> None:
    client.post("/fhir/Patient", json=patient(identifier="MRN-7"))
    bundle = _tx(
        [
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
                "resource": patient(identifier="MRN-7"),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": "identifier=urn:mrn|MRN-7",
                },
            },
            {
                "resource": observation(subject="Patient?identifier=urn:mrn|MRN-7"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ]
    )
    out = client.post("/fhir", json=bundle).json()
    assert out["entry"][0]["response"]["status"] == "200 OK"
    existing = out["entry"][0]["resource"]["id"]
    assert out["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{existing}"
    assert client.get("/fhir/Patient/_history").json()["total"] == 1


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_if_none_exist_written_as_type_and_query_is_understood(
    client: TestClient, kind: str
) -> None:
    # The R4 example Bundle "xds" writes ifNoneExist as "Patient?identifier=..."
    client.post("/fhir/Patient", json=patient(identifier="MRN-8"))
    entry = {
        "resource": patient(identifier="MRN-8"),
        "request": {
            "method": "POST",
            "url": "Patient",
            "ifNoneExist": "Patient?identifier=urn:mrn|MRN-8",
        },
    }
    answer = client.post("/fhir", json=_tx([entry], kind=kind))
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][0]["response"]["status"] == "200 OK"
    assert client.get("/fhir/Patient/_history").json()["total"] == 1


def test_unresolvable_conditional_reference_names_its_entry(client: TestClient) -> None:
    bundle = _tx(
        [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": observation(subject="Patient?identifier=urn:mrn|nobody"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ]
    )
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 412
    assert answer.json()["issue"][0]["diagnostics"].startswith("Bundle.entry[1]: ")
    assert client.get("/fhir/_history").json()["total"] == 0


def test_an_operation_inside_a_bundle_is_refused_as_not_supported(client: TestClient) -> None:
    lookup = {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "x"}]}
    bundle = _tx(
        [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": lookup, "request": {"method": "POST", "url": "CodeSystem/$lookup"}},
        ]
    )
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 400
    issue = answer.json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert "$lookup" in issue["diagnostics"]
    assert "Bundle.entry[1]" in issue["diagnostics"]
    assert client.get("/fhir/_history").json()["total"] == 0


def test_batch_entries_fail_independently(client: TestClient) -> None:
    bundle = _tx(
        [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
            {
                "resource": {"resourceType": "Patient", "gender": 5},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
        kind="batch",
    )
    out = client.post("/fhir", json=bundle).json()
    assert out["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses[0] == "201 Created"
    assert statuses[1].startswith("404")
    assert statuses[2].startswith("400")
    assert out["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"


def test_conditional_reference_resolves_to_a_resource_created_in_the_same_bundle(
    client: TestClient,
) -> None:
    org = {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:test:org", "value": "same-bundle"}],
        "name": "Created here",
    }
    location = {
        "resourceType": "Location",
        "name": "Ward 3",
        "managingOrganization": {"reference": "Organization?identifier=urn:test:org|same-bundle"},
    }
    bundle = _tx(
        [
            {"resource": location, "request": {"method": "POST", "url": "Location"}},
            {
                "resource": org,
                "request": {
                    "method": "POST",
                    "url": "Organization",
                    "ifNoneExist": "identifier=urn:test:org|same-bundle",
                },
            },
        ]
    )
    first = client.post("/fhir", json=bundle)
    assert first.status_code == 200, first.text
    org_id = first.json()["entry"][1]["resource"]["id"]
    managing = first.json()["entry"][0]["resource"]["managingOrganization"]["reference"]
    assert managing == f"Organization/{org_id}"
    again = client.post("/fhir", json=bundle)
    assert again.status_code == 200
    assert again.json()["entry"][0]["resource"]["managingOrganization"]["reference"] == managing
    assert client.get("/fhir/Organization?identifier=urn:test:org|same-bundle").json()["total"] == 1


def test_conditional_reference_matching_two_resources_fails_the_transaction(
    client: TestClient,
) -> None:
    twins = [
        {
            "resource": {
                "resourceType": "Practitioner",
                "identifier": [{"system": "urn:test:npi", "value": "twin"}],
            },
            "request": {"method": "POST", "url": "Practitioner"},
        }
        for _ in range(2)
    ]
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "participant": [{"individual": {"reference": "Practitioner?identifier=urn:test:npi|twin"}}],
    }
    bundle = _tx(
        [*twins, {"resource": encounter, "request": {"method": "POST", "url": "Encounter"}}]
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 412
    assert "matched 2 resources" in response.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/Practitioner?identifier=urn:test:npi|twin").json()["total"] == 0
