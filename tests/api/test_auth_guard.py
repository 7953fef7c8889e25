"""The access policy over HTTP: a patient/ token sees and writes only its patient's data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Smart


def _patient(id: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id, "name": [{"family": id}]}


def _obs(id: str, subject: str, focus: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
    }
    if focus:
        resource["focus"] = [{"reference": f"Patient/{focus}"}]
    return resource


@pytest.fixture
def seeded(smart: Smart) -> Smart:
    system = smart.as_bearer(smart.system_token())
    for resource in (
        _patient("p1"),
        _patient("p2"),
        _obs("o1", "p1"),
        _obs("o2", "p2"),
        _obs("o3", "p1", focus="p2"),
        _obs("o4", "p2", focus="p1"),
    ):
        path = f"/fhir/{resource['resourceType']}/{resource['id']}"
        assert smart.http.put(path, json=resource, headers=system).status_code == 201
    return smart


@pytest.fixture
def patient_headers(seeded: Smart) -> dict[str, str]:
    tokens = seeded.app_tokens("launch/patient patient/*.cruds")
    assert tokens["patient"] == "p1"
    return seeded.as_bearer(tokens["access_token"])


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if "resource" in e
    }


def test_patient_token_reads_own_observation_but_not_another_patients(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    assert seeded.http.get("/fhir/Observation/o1", headers=patient_headers).status_code == 200
    hidden = seeded.http.get("/fhir/Observation/o2", headers=patient_headers)
    assert hidden.status_code == 404
    assert hidden.json()["resourceType"] == "OperationOutcome"
    vread = seeded.http.get("/fhir/Observation/o2/_history/1", headers=patient_headers)
    assert vread.status_code == 404


def test_search_returns_only_the_patients_compartment(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    bundle = seeded.http.get("/fhir/Observation", headers=patient_headers).json()
    assert _ids(bundle) == {"Observation/o1", "Observation/o3"}
    assert bundle["total"] == 2
    other = seeded.http.get("/fhir/Observation?subject=Patient/p2", headers=patient_headers)
    assert _ids(other.json()) == set()


def test_include_and_revinclude_do_not_leak_other_patients(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    included = seeded.http.get(
        "/fhir/Observation?_include=Observation:focus", headers=patient_headers
    ).json()
    assert "Patient/p2" not in _ids(included)
    revincluded = seeded.http.get(
        "/fhir/Patient?_revinclude=Observation:focus", headers=patient_headers
    ).json()
    assert _ids(revincluded) == {"Patient/p1"}


def test_history_at_every_level_hides_other_patients(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    assert (
        seeded.http.get("/fhir/Observation/o2/_history", headers=patient_headers).status_code == 404
    )
    by_type = seeded.http.get("/fhir/Observation/_history", headers=patient_headers).json()
    assert _ids(by_type) == {"Observation/o1", "Observation/o3"}
    system = seeded.http.get("/fhir/_history", headers=patient_headers).json()
    assert _ids(system) == {"Observation/o1", "Observation/o3", "Patient/p1"}


def test_batch_entries_pass_the_guard(seeded: Smart, patient_headers: dict[str, str]) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Observation/o1"}},
            {"request": {"method": "GET", "url": "Observation/o2"}},
            {"request": {"method": "GET", "url": "Observation?subject=Patient/p2"}},
        ],
    }
    answer = seeded.http.post("/fhir", json=bundle, headers=patient_headers).json()
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses[0].startswith("200")
    assert statuses[1].startswith("404")
    assert _ids(answer["entry"][2]["resource"]) == set()


def test_transaction_touching_another_patient_fails_whole(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6b1d1f0e-0000-4000-8000-000000000001",
                "resource": _obs("new", "p1"),
                "request": {"method": "POST", "url": "Observation"},
            },
            {"request": {"method": "GET", "url": "Observation/o2"}},
        ],
    }
    assert seeded.http.post("/fhir", json=bundle, headers=patient_headers).status_code == 404
    mine = seeded.http.get("/fhir/Observation", headers=patient_headers).json()
    assert len(mine["entry"]) == 2


def test_patient_token_cannot_write_outside_its_compartment(
    seeded: Smart, patient_headers: dict[str, str]
) -> None:
    http = seeded.http
    created = http.post("/fhir/Observation", json=_obs("x", "p2"), headers=patient_headers)
    assert created.status_code == 403
    overwrite = http.put("/fhir/Observation/o2", json=_obs("o2", "p1"), headers=patient_headers)
    assert overwrite.status_code == 403
    assert http.delete("/fhir/Observation/o2", headers=patient_headers).status_code == 403
    move = [{"op": "replace", "path": "/subject/reference", "value": "Patient/p2"}]
    patched = http.patch(
        "/fhir/Observation/o1",
        json=move,
        headers={**patient_headers, "Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 403
    assert http.get("/fhir/Observation/o1", headers=patient_headers).json()["subject"] == {
        "reference": "Patient/p1"
    }
    conditional = http.delete("/fhir/Observation?subject=Patient/p2", headers=patient_headers)
    assert conditional.status_code == 403
    assert (
        http.post("/fhir/Observation", json=_obs("y", "p1"), headers=patient_headers).status_code
        == 201
    )


def test_scope_without_the_permission_gives_403(seeded: Smart) -> None:
    headers = seeded.as_bearer(seeded.system_token("system/Patient.rs"))
    assert seeded.http.get("/fhir/Patient/p2", headers=headers).status_code == 200
    denied = seeded.http.get("/fhir/Observation/o1", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["issue"][0]["code"] == "forbidden"
    assert seeded.http.delete("/fhir/Patient/p2", headers=headers).status_code == 403


def test_v2_query_constraint_limits_search(seeded: Smart) -> None:
    seeded.auth.clients.register(
        "confidential-symmetric",
        client_id="vitals",
        scopes="system/Observation.rs?subject=Patient/p1",
    )
    secret = seeded.auth.clients.register(
        "confidential-symmetric",
        client_id="vitals2",
        scopes="system/Observation.rs?subject=Patient/p1",
    ).secret
    answer = seeded.http.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "system/Observation.rs"},
        auth=("vitals2", secret or ""),
    ).json()
    assert answer["scope"] == "system/Observation.rs?subject=Patient/p1"
    headers = seeded.as_bearer(answer["access_token"])
    assert _ids(seeded.http.get("/fhir/Observation", headers=headers).json()) == {
        "Observation/o1",
        "Observation/o3",
    }
    assert seeded.http.get("/fhir/Observation/o2", headers=headers).status_code == 404


def test_conditional_update_creating_in_a_transaction_needs_update_not_create(
    seeded: Smart,
) -> None:
    """SMART: the update scope allows an update that creates; create does not (s: the match)."""
    obs = _obs("ignored", "p1")
    del obs["id"]
    obs["identifier"] = [{"system": "urn:test", "value": "new-1"}]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": obs,
                "request": {"method": "PUT", "url": "Observation?identifier=urn:test|new-1"},
            }
        ],
    }
    create_only = seeded.as_bearer(seeded.system_token("system/Observation.cs"))
    assert seeded.http.post("/fhir", json=bundle, headers=create_only).status_code == 403
    update_only = seeded.as_bearer(seeded.system_token("system/Observation.us"))
    answer = seeded.http.post("/fhir", json=bundle, headers=update_only)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][0]["response"]["status"].startswith("201")
    system = seeded.as_bearer(seeded.system_token())
    found = seeded.http.get("/fhir/Observation?identifier=urn:test|new-1", headers=system).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["meta"]["versionId"] == "1"
