"""Every error is an OperationOutcome with the right status, and bad input changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import patient


def _outcome(response_json: dict[str, object]) -> None:
    assert response_json["resourceType"] == "OperationOutcome"


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post(
        "/fhir/Patient", content=b"{not json", headers={"Content-Type": "application/fhir+json"}
    )
    assert r.status_code == 400
    _outcome(r.json())


def test_invalid_resource_lists_every_issue_with_location(client: TestClient) -> None:
    bad = {**patient(), "gender": "robot", "birthDate": "1970-13-45", "unknownField": 1}
    r = client.post("/fhir/Patient", json=bad)
    assert r.status_code == 400
    issues = r.json()["issue"]
    locations = {loc for issue in issues for loc in issue.get("expression", [])}
    assert {"Patient.gender", "Patient.birthDate"} <= locations
    assert len(issues) >= 3
    history = client.get("/fhir/Patient/_history").json()
    assert history["total"] == 0


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("birthDate", "2021-02-30"),
        ("birthDate", "2023-02-29"),
        ("deceasedDateTime", "2021-04-31T10:00:00Z"),
        ("deceasedDateTime", "2021-06-31"),
    ],
)
def test_a_day_the_month_does_not_have_is_rejected(
    client: TestClient, element: str, value: str
) -> None:
    r = client.post("/fhir/Patient", json={**patient(), element: value})
    assert r.status_code == 400
    (issue,) = r.json()["issue"]
    assert issue["expression"] == [f"Patient.{element}"]
    assert f'"{value}" is not a calendar date' in issue["diagnostics"]
    assert client.get("/fhir/Patient/_history").json()["total"] == 0


def test_leap_days_and_partial_dates_are_valid(client: TestClient) -> None:
    for birth_date in ("2024-02-29", "2000-02-29", "2021-02", "2021"):
        r = client.post("/fhir/Patient", json={**patient(), "birthDate": birth_date})
        assert r.status_code == 201, r.text
        assert r.json()["birthDate"] == birth_date


def test_resource_type_mismatch_is_400(client: TestClient) -> None:
    r = client.post("/fhir/Observation", json=patient())
    assert r.status_code == 400


@pytest.mark.parametrize("path", ["/fhir/NotAType", "/fhir/NotAType/1", "/fhir/Patient/nope"])
def test_unknown_type_or_id_is_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    _outcome(r.json())


def test_wrong_method_is_405(client: TestClient) -> None:
    r = client.delete("/fhir/metadata")
    assert r.status_code == 405
    _outcome(r.json())


def test_oversized_body_is_413(client: TestClient) -> None:
    huge = {**patient(), "name": [{"family": "x" * 300_000}]}
    r = client.post("/fhir/Patient", json=huge)
    assert r.status_code == 413
    _outcome(r.json())


def test_xml_is_406_and_415(client: TestClient) -> None:
    assert (
        client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"}).status_code == 406
    )
    assert client.get("/fhir/metadata?_format=xml").status_code == 406
    r = client.post(
        "/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert r.status_code == 415
    _outcome(r.json())


def test_injection_values_are_plain_data(client: TestClient) -> None:
    for value in ['{"$gt": ""}', "'; DROP TABLE resources; --"]:
        r = client.get("/fhir/Patient", params={"_id": value})
        assert r.status_code == 200
        assert r.json()["total"] == 0
    created = client.post("/fhir/Patient", json=patient(family="'; DROP TABLE resources; --"))
    assert created.status_code == 201
    assert client.get(f"/fhir/Patient/{created.json()['id']}").status_code == 200


def test_wrong_method_on_history_version_is_405(client: TestClient) -> None:
    r = client.post("/fhir/Patient/1/_history/1", json={})
    assert r.status_code == 405
    _outcome(r.json())


def test_accept_with_another_fhir_version_is_406(client: TestClient) -> None:
    r4 = client.get("/fhir/metadata", headers={"accept": "application/fhir+json; fhirVersion=4.0"})
    assert r4.status_code == 200
    stu3 = client.get("/fhir/metadata", headers={"accept": "application/fhir+json;fhirVersion=3.0"})
    assert stu3.status_code == 406
    assert stu3.json()["resourceType"] == "OperationOutcome"
    either = "application/fhir+json;fhirVersion=3.0, application/fhir+json;fhirVersion=4.0"
    assert client.get("/fhir/metadata", headers={"accept": either}).status_code == 200
