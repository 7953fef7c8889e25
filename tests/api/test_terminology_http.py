"""The terminology operations over HTTP: GET and POST, stored and shipped content, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import NoMatchFound

from fhir_server.api.context import require_caller
from fhir_server.api.routes import terminology
from fhir_server.app import create_app
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.state import auth_config
from tests.api.conftest import SMART_BASE, Smart
from tests.factories import BACKENDS, make_settings, open_store

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
SHAPES = "http://example.org/CodeSystem/shapes"


def with_terminology(app: FastAPI) -> FastAPI:
    """Mount the terminology routes first (before the instance routes), unless create_app does."""
    try:
        app.url_path_for("value_set_expand")
    except NoMatchFound:
        pass
    else:
        return app
    count = len(app.router.routes)
    app.include_router(terminology.router, prefix="/fhir", dependencies=[Depends(require_caller)])
    added = app.router.routes[count:]
    del app.router.routes[count:]
    app.router.routes[:0] = added
    return app


@pytest.fixture(params=BACKENDS)
def tx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    store = open_store(request.param, tmp_path)
    app = with_terminology(create_app(make_settings(tmp_path, auth="off"), store))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def values(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        p["name"]: next(v for k, v in p.items() if k.startswith("value"))
        for p in answer["parameter"]
        if any(k.startswith("value") for k in p)
    }


def issue(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    first: dict[str, Any] = body["issue"][0]
    return first


def shapes() -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "url": SHAPES,
        "status": "active",
        "content": "complete",
        "concept": [
            {
                "code": "polygon",
                "display": "Polygon",
                "concept": [{"code": "square", "display": "Square"}],
            },
            {"code": "circle", "display": "Circle"},
        ],
    }


def test_expand_a_shipped_value_set(tx: TestClient) -> None:
    response = tx.get("/fhir/ValueSet/$expand", params={"url": GENDER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    expanded = response.json()
    assert expanded["resourceType"] == "ValueSet"
    assert [c["code"] for c in expanded["expansion"]["contains"]] == [
        "male",
        "female",
        "other",
        "unknown",
    ]


def test_stored_code_systems_and_value_sets_are_used_by_url_and_by_id(tx: TestClient) -> None:
    assert tx.post("/fhir/CodeSystem", json=shapes()).status_code == 201
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/ValueSet/polygons",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": SHAPES,
                    "filter": [{"property": "concept", "op": "is-a", "value": "polygon"}],
                }
            ]
        },
    }
    created = tx.post("/fhir/ValueSet", json=value_set).json()
    by_id = tx.get(f"/fhir/ValueSet/{created['id']}/$expand").json()
    assert [c["code"] for c in by_id["expansion"]["contains"]] == ["polygon", "square"]
    assert by_id["id"] == created["id"]
    by_url = tx.post(
        "/fhir/ValueSet/$expand",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "url", "valueUri": value_set["url"]}],
        },
    ).json()
    assert by_url["expansion"]["total"] == 2
    check = tx.get(
        f"/fhir/ValueSet/{created['id']}/$validate-code",
        params={"system": SHAPES, "code": "circle"},
    ).json()
    assert values(check)["result"] is False
    stored_cs = tx.get("/fhir/CodeSystem", params={"url": SHAPES}).json()["entry"][0]["resource"]
    square = tx.get(
        f"/fhir/CodeSystem/{stored_cs['id']}/$validate-code", params={"code": "square"}
    ).json()
    assert values(square) == {"result": True, "display": "Square"}


def test_expand_an_inline_value_set_with_post(tx: TestClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "valueSet",
                "resource": {
                    "resourceType": "ValueSet",
                    "status": "active",
                    "compose": {"include": [{"system": LOINC, "concept": [{"code": "8480-6"}]}]},
                },
            },
            {"name": "count", "valueInteger": 5},
        ],
    }
    expanded = tx.post("/fhir/ValueSet/$expand", json=body).json()
    assert expanded["expansion"]["contains"] == [
        {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
    ]


def test_lookup_by_get_and_by_post(tx: TestClient) -> None:
    got = tx.get("/fhir/CodeSystem/$lookup", params={"system": LOINC, "code": "8867-4"})
    assert values(got.json())["display"] == "Heart rate"
    posted = tx.post(
        "/fhir/CodeSystem/$lookup",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "coding", "valueCoding": {"system": MDC, "code": "150456"}}],
        },
    )
    assert values(posted.json())["display"] == "MDC_PULS_OXIM_SAT_O2"


def test_validate_ucum_units(tx: TestClient) -> None:
    ok = tx.get(
        "/fhir/CodeSystem/$validate-code",
        params={"url": "http://unitsofmeasure.org", "code": "mm[Hg]"},
    )
    assert values(ok.json())["result"] is True
    bad = tx.get(
        "/fhir/CodeSystem/$validate-code",
        params={"url": "http://unitsofmeasure.org", "code": "mmHg"},
    )
    assert values(bad.json())["result"] is False


def test_validate_a_codeable_concept_against_the_vital_signs(tx: TestClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": "http://hl7.org/fhir/ValueSet/observation-vitalsignresult"},
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "8462-4"}]},
            },
        ],
    }
    answer = tx.post("/fhir/ValueSet/$validate-code", json=body).json()
    assert values(answer) == {"result": True, "display": "Diastolic blood pressure"}


def test_translate_mdc_to_loinc_and_with_a_stored_map(tx: TestClient) -> None:
    answer = tx.get(
        "/fhir/ConceptMap/$translate",
        params={"system": MDC, "code": "150021", "targetsystem": LOINC},
    ).json()
    [match] = [p for p in answer["parameter"] if p["name"] == "match"]
    assert match["part"][:2] == [
        {"name": "equivalence", "valueCode": "wider"},
        {
            "name": "concept",
            "valueCoding": {
                "system": LOINC,
                "code": "8480-6",
                "display": "Systolic blood pressure",
            },
        },
    ]
    stored = {
        "resourceType": "ConceptMap",
        "url": "http://example.org/cm",
        "status": "active",
        "group": [
            {
                "source": SHAPES,
                "target": LOINC,
                "element": [
                    {"code": "circle", "target": [{"code": "x", "equivalence": "inexact"}]}
                ],
            }
        ],
    }
    created = tx.post("/fhir/ConceptMap", json=stored).json()
    by_id = tx.get(
        f"/fhir/ConceptMap/{created['id']}/$translate", params={"system": SHAPES, "code": "circle"}
    ).json()
    assert values(by_id)["result"] is True
    found = tx.get(
        "/fhir/ConceptMap/$translate", params={"system": SHAPES, "code": "circle"}
    ).json()
    assert values(found)["result"] is True


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/fhir/ValueSet/$expand", {"url": "http://example.org/none"}, 404, "not-found"),
        ("/fhir/ValueSet/no-such-id/$expand", {}, 404, "not-found"),
        ("/fhir/ValueSet/$expand", {"url": GENDER, "colour": "red"}, 400, "invalid"),
        ("/fhir/ValueSet/$expand", {"url": GENDER, "date": "2020"}, 400, "not-supported"),
        (
            "/fhir/ValueSet/$expand",
            {"url": "http://hl7.org/fhir/ValueSet/observation-codes"},
            400,
            "too-costly",
        ),
        (
            "/fhir/ValueSet/$expand",
            {"url": "http://hl7.org/fhir/ValueSet/marital-status"},
            422,
            "not-supported",
        ),
        ("/fhir/ValueSet/$validate-code", {"url": GENDER, "coding": "x"}, 400, "invalid"),
        ("/fhir/CodeSystem/$lookup", {"system": LOINC, "code": "2345-7"}, 404, "not-found"),
        ("/fhir/CodeSystem/$lookup", {"code": "8867-4"}, 400, "invalid"),
        ("/fhir/CodeSystem/$validate-code", {"url": LOINC, "code": "2345-7"}, 422, "not-supported"),
        (
            "/fhir/ConceptMap/$translate",
            {"system": MDC, "code": "1", "dependency": "x"},
            400,
            "not-supported",
        ),
    ],
)
def test_errors_are_operation_outcomes_with_the_right_status(
    tx: TestClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = tx.get(path, params=params)
    assert response.status_code == status, response.text
    assert issue(response)["code"] == code


def test_a_post_body_must_be_parameters(tx: TestClient) -> None:
    response = tx.post(
        "/fhir/ValueSet/$expand", json={"resourceType": "ValueSet", "status": "active"}
    )
    assert response.status_code == 400
    assert "Parameters" in issue(response)["diagnostics"]


def test_every_listed_terminology_operation_answers(tx: TestClient) -> None:
    statement = tx.get("/fhir/metadata").json()
    calls = {
        ("CodeSystem", "lookup"): {"system": LOINC, "code": "8867-4"},
        ("CodeSystem", "validate-code"): {"url": LOINC, "code": "8867-4"},
        ("ValueSet", "expand"): {"url": GENDER},
        ("ValueSet", "validate-code"): {
            "url": GENDER,
            "system": "http://hl7.org/fhir/administrative-gender",
            "code": "male",
        },
        ("ConceptMap", "translate"): {"system": MDC, "code": "150456"},
    }
    listed = {
        (r["type"], op["name"]): op["definition"]
        for r in statement["rest"][0]["resource"]
        for op in r.get("operation", [])
        if op["name"] != "validate" and r["type"] in ("CodeSystem", "ValueSet", "ConceptMap")
    }
    assert set(listed) == set(calls)
    for (resource_type, name), definition in listed.items():
        assert definition == f"http://hl7.org/fhir/OperationDefinition/{resource_type}-{name}"
        for method in ("GET", "POST"):
            params = calls[(resource_type, name)]
            if method == "GET":
                response = tx.get(f"/fhir/{resource_type}/${name}", params=params)
            else:
                body = {
                    "resourceType": "Parameters",
                    "parameter": [{"name": k, "valueString": v} for k, v in params.items()],
                }
                response = tx.post(f"/fhir/{resource_type}/${name}", json=body)
            assert response.status_code == 200, (resource_type, name, method, response.text)


@pytest.fixture
def smart_tx(tmp_path: Path) -> Iterator[Smart]:
    settings = make_settings(tmp_path, base_url=SMART_BASE, auth="on")
    auth = SmartAuthServer(
        auth_config(settings), MemoryAuthStore(), hasher=PasswordHasher(log2_n=4)
    )
    app = with_terminology(create_app(settings, open_store("sqlite", tmp_path), auth_server=auth))
    with TestClient(app, base_url="http://testserver") as http:
        yield Smart(http, auth)


def test_the_access_policy_applies_to_terminology_operations(smart_tx: Smart) -> None:
    http = smart_tx.http
    assert http.get("/fhir/ValueSet/$expand", params={"url": GENDER}).status_code == 401
    system = smart_tx.as_bearer(smart_tx.system_token("system/*.rs"))
    assert (
        http.get("/fhir/ValueSet/$expand", params={"url": GENDER}, headers=system).status_code
        == 200
    )
    patient_app = smart_tx.as_bearer(smart_tx.app_tokens()["access_token"])
    refused = http.get("/fhir/ValueSet/$expand", params={"url": GENDER}, headers=patient_app)
    assert refused.status_code == 403
    assert issue(refused)["code"] == "forbidden"
