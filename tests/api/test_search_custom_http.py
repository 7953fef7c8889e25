"""Custom SearchParameters and disabled parameters as a client sees them over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fhir_server.app import create_app
from tests.contract.test_search_custom import EYE_PARAM, eyed
from tests.factories import make_settings, open_store

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def search_params(client: TestClient, resource_type: str) -> set[str]:
    statement: dict[str, Any] = client.get("/fhir/metadata").json()
    resource = next(r for r in statement["rest"][0]["resource"] if r["type"] == resource_type)
    return {p["name"] for p in resource.get("searchParam", [])}


def test_posted_parameter_is_listed_and_searchable(client: TestClient) -> None:
    assert "eye-colour" not in search_params(client, "Patient")
    assert (
        client.post("/fhir/SearchParameter", json=EYE_PARAM, headers=FHIR_JSON).status_code == 201
    )
    assert "eye-colour" in search_params(client, "Patient")
    client.put("/fhir/Patient/ann", json=eyed("blue", "ann"), headers=FHIR_JSON)
    body = client.get("/fhir/Patient?eye-colour=blue", headers={"Prefer": "handling=strict"}).json()
    assert [e["resource"]["id"] for e in body["entry"]] == ["ann"]


def test_unusable_active_parameter_is_422(client: TestClient) -> None:
    broken = {k: v for k, v in EYE_PARAM.items() if k != "expression"}
    answer = client.post("/fhir/SearchParameter", json=broken, headers=FHIR_JSON)
    assert answer.status_code == 422
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_stored_parameters_are_honoured_after_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth="off")
    first = create_app(settings)
    with TestClient(first) as client:
        client.post("/fhir/SearchParameter", json=EYE_PARAM, headers=FHIR_JSON)
        client.put("/fhir/Patient/ann", json=eyed("blue", "ann"), headers=FHIR_JSON)
    with TestClient(create_app(settings)) as client:
        assert "eye-colour" in search_params(client, "Patient")
        body = client.get("/fhir/Patient?eye-colour=blue").json()
        assert [e["resource"]["id"] for e in body["entry"]] == ["ann"]


def test_disabled_parameters_are_not_listed_and_not_searchable(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, auth="off", search_disabled_params="Observation.combo-code, _text"
    )
    with TestClient(create_app(settings, open_store("sqlite", tmp_path))) as client:
        names = search_params(client, "Observation")
        assert "combo-code" not in names
        assert "_text" not in names
        assert "code" in names
        assert "_text" not in search_params(client, "Patient")
        strict = client.get("/fhir/Observation?combo-code=1", headers={"Prefer": "handling=strict"})
        assert strict.status_code == 400
