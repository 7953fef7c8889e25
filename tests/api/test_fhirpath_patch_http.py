"""FHIRPath Patch over HTTP: PATCH [type]/[id], conditional PATCH, transaction entries."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

FHIR = {"Content-Type": "application/fhir+json"}


def _operation(kind: str, path: str, **parts: Any) -> dict[str, Any]:
    part = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    part.extend({"name": name, **value} for name, value in parts.items())
    return {"name": "operation", "part": part}


def _parameters(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(operations)}


def _patient(client: TestClient) -> dict[str, Any]:
    body = {
        "resourceType": "Patient",
        "active": True,
        "identifier": [
            {"system": "urn:a", "value": "1"},
            {"system": "urn:b", "value": "2"},
            {"system": "urn:c", "value": "3"},
        ],
        "name": [{"family": "Old", "given": ["Ada"]}],
        "deceasedBoolean": False,
    }
    response = client.post("/fhir/Patient", json=body, headers=FHIR)
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


def test_every_operation_type_applies_in_order(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(
        _operation("replace", "Patient.name.family", value={"valueString": "New"}),
        _operation("delete", "Patient.identifier.where(system='urn:b')"),
        _operation(
            "add",
            "Patient",
            name={"valueString": "telecom"},
            value={
                "part": [
                    {"name": "system", "valueCode": "phone"},
                    {"name": "value", "valueString": "555"},
                ]
            },
        ),
        _operation(
            "insert",
            "Patient.identifier",
            value={
                "part": [
                    {"name": "system", "valueUri": "urn:z"},
                    {"name": "value", "valueString": "0"},
                ]
            },
            index={"valueInteger": 0},
        ),
        _operation(
            "move",
            "Patient.identifier",
            source={"valueInteger": 2},
            destination={"valueInteger": 1},
        ),
        _operation("replace", "Patient.deceased", value={"valueBoolean": True}),
    )
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=FHIR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == [{"family": "New", "given": ["Ada"]}]
    assert [i["system"] for i in body["identifier"]] == ["urn:z", "urn:c", "urn:a"]
    assert body["telecom"] == [{"system": "phone", "value": "555"}]
    assert body["deceasedBoolean"] is True
    assert body["meta"]["versionId"] == "2"


def test_delete_of_a_missing_element_is_a_no_op_and_creates_no_version(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(_operation("delete", "Patient.birthDate"))
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=FHIR)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "1"


def test_adding_a_second_value_to_a_singleton_is_422(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(
        _operation("add", "Patient", name={"valueString": "active"}, value={"valueBoolean": False})
    )
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=FHIR)
    assert response.status_code == 422
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_path_matching_several_elements_is_422(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(_operation("replace", "Patient.identifier", value={"valueString": "x"}))
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=FHIR)
    assert response.status_code == 422


def test_unknown_operation_type_is_400(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(_operation("frobnicate", "Patient.active"))
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=FHIR)
    assert response.status_code == 400
    assert "frobnicate" in response.text


def test_json_patch_content_type_with_parameters_body_is_400(client: TestClient) -> None:
    patient = _patient(client)
    patch = _parameters(_operation("delete", "Patient.active"))
    headers = {"Content-Type": "application/json-patch+json"}
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=patch, headers=headers)
    assert response.status_code == 400


def test_conditional_patch_with_parameters(client: TestClient) -> None:
    _patient(client)
    patch = _parameters(_operation("replace", "Patient.active", value={"valueBoolean": False}))
    response = client.patch("/fhir/Patient?identifier=urn:c|3", json=patch, headers=FHIR)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False


def test_transaction_patch_entry_with_parameters(client: TestClient) -> None:
    patient = _patient(client)
    link = {
        "part": [
            {"name": "other", "valueReference": {"reference": "Patient/other"}},
            {"name": "type", "valueCode": "replaced-by"},
        ]
    }
    patch = _parameters(_operation("add", "Patient", name={"valueString": "link"}, value=link))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": patch,
                "request": {"method": "PATCH", "url": "Patient?identifier=urn:a|1"},
            }
        ],
    }
    response = client.post("/fhir", json=bundle, headers=FHIR)
    assert response.status_code == 200, response.text
    read = client.get(f"/fhir/Patient/{patient['id']}").json()
    assert read["link"] == [{"other": {"reference": "Patient/other"}, "type": "replaced-by"}]


def test_json_patch_still_works(client: TestClient) -> None:
    patient = _patient(client)
    headers = {"Content-Type": "application/json-patch+json"}
    ops = [{"op": "replace", "path": "/active", "value": False}]
    response = client.patch(f"/fhir/Patient/{patient['id']}", json=ops, headers=headers)
    assert response.status_code == 200
    assert response.json()["active"] is False
