"""Search over HTTP: compartments, _total, _summary=count, _type, handling, paging while writing.

https://hl7.org/fhir/R4/search.html and https://hl7.org/fhir/R4/http.html#vsearch.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.factories import observation, patient

FHIR_JSON = "application/fhir+json"


def put(client: TestClient, resource: dict[str, Any]) -> None:
    url = f"/fhir/{resource['resourceType']}/{resource['id']}"
    answer = client.put(url, json=resource, headers={"Content-Type": FHIR_JSON})
    assert answer.status_code in (200, 201), answer.text


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    put(client, {**patient("Smith", "1"), "id": "p1"})
    put(client, {**patient("Jones", "2"), "id": "p2"})
    put(client, {**observation(subject="Patient/p1"), "id": "o1"})
    put(client, {**observation(("http://loinc.org", "8310-5"), 37, "Patient/p1"), "id": "o2"})
    put(client, {**observation(subject="Patient/p2"), "id": "o3"})
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
    }
    put(client, encounter)
    put(client, {"resourceType": "Organization", "id": "org", "name": "Acme"})
    return client


def bundle(client: TestClient, url: str, **headers: str) -> dict[str, Any]:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "searchset"
    return body


def ids(body: dict[str, Any], mode: str = "match") -> list[str]:
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body.get("entry", [])
        if e["search"]["mode"] == mode
    ]


def test_compartment_search_finds_only_the_patients_resources(loaded: TestClient) -> None:
    body = bundle(loaded, "/fhir/Patient/p1/Observation")
    assert sorted(ids(body)) == ["Observation/o1", "Observation/o2"]
    assert body["total"] == 2
    filtered = bundle(loaded, "/fhir/Patient/p1/Observation?code=8310-5")
    assert ids(filtered) == ["Observation/o2"]
    assert bundle(loaded, "/fhir/Patient/p2/Encounter")["total"] == 0


def test_compartment_star_searches_every_type_in_the_compartment(loaded: TestClient) -> None:
    put(loaded, {**observation(subject="Patient/p2"), "id": "p1"})  # same id, not p1's
    body = bundle(loaded, "/fhir/Patient/p1/*?_count=50")
    assert sorted(ids(body)) == ["Encounter/e1", "Observation/o1", "Observation/o2", "Patient/p1"]
    narrowed = bundle(loaded, "/fhir/Patient/p1/*?_type=Encounter")
    assert ids(narrowed) == ["Encounter/e1"]


def test_compartment_route_leaves_instance_history_alone(loaded: TestClient) -> None:
    answer = loaded.get("/fhir/Patient/p1/_history")
    assert answer.status_code == 200
    assert answer.json()["type"] == "history"


@pytest.mark.parametrize(
    "url",
    ["/fhir/Practitioner/d1/Observation", "/fhir/Patient/p1/Organization", "/fhir/Patient/p1/Nope"],
)
def test_compartment_outside_the_definition_is_404(loaded: TestClient, url: str) -> None:
    answer = loaded.get(url)
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_total_modes(loaded: TestClient) -> None:
    assert bundle(loaded, "/fhir/Observation?_count=1&_total=accurate")["total"] == 3
    assert bundle(loaded, "/fhir/Observation?_count=1&_total=estimate")["total"] >= 1
    none = bundle(loaded, "/fhir/Observation?_count=1&_total=none")
    assert "total" not in none
    assert len(ids(none)) == 1
    assert [link["relation"] for link in none["link"]] == ["self", "next"]


def test_summary_count_returns_only_the_count(loaded: TestClient) -> None:
    body = bundle(loaded, "/fhir/Observation?subject=Patient/p1&_summary=count")
    assert body["total"] == 2
    assert body.get("entry", []) == []
    assert [link["relation"] for link in body["link"]] == ["self"]


def test_system_search_by_type(loaded: TestClient) -> None:
    body = bundle(loaded, "/fhir?_type=Patient,Organization&_sort=_id")
    assert ids(body) == ["Organization/org", "Patient/p1", "Patient/p2"]
    both = bundle(loaded, "/fhir?_type=Patient,Observation&_lastUpdated=gt2000&_count=100")
    assert len(ids(both)) == 5


def test_system_search_with_unknown_type_is_an_error(loaded: TestClient) -> None:
    answer = loaded.get("/fhir?_type=Nope")
    assert answer.status_code in (400, 404)
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_unknown_parameter_is_reported_when_lenient(loaded: TestClient) -> None:
    body = bundle(loaded, "/fhir/Observation?nonsense=1&subject=Patient/p2")
    assert ids(body) == ["Observation/o3"]
    outcomes = [e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    assert outcomes[0]["resourceType"] == "OperationOutcome"
    assert outcomes[0]["issue"][0]["severity"] == "warning"
    assert "nonsense" in outcomes[0]["issue"][0]["diagnostics"]
    lenient = bundle(loaded, "/fhir/Observation?nonsense=1", prefer="handling=lenient")
    assert len(ids(lenient)) == 3


@pytest.mark.parametrize(
    "query", ["nonsense=1", "code:nonsense=1", "_sort=nonsense", "subject.nonsense=x"]
)
def test_unknown_parameter_is_400_when_strict(loaded: TestClient, query: str) -> None:
    answer = loaded.get(f"/fhir/Observation?{query}", headers={"Prefer": "handling=strict"})
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "query",
    [
        "date=yesterday",
        "value-quantity=big",
        "_count=-1",
        "_total=maybe",
        "_summary=all",
        "subject=Nope/1",
        "code:missing=perhaps",
        "_include=Nope:subject",
        "component-code-value-quantity=8480-6",
        "date=2024-13-01",
    ],
)
def test_malformed_values_are_400_even_when_lenient(loaded: TestClient, query: str) -> None:
    answer = loaded.get(f"/fhir/Observation?{query}", headers={"Prefer": "handling=lenient"})
    assert answer.status_code == 400
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"


def test_include_entries_are_marked_include(loaded: TestClient) -> None:
    body = bundle(loaded, "/fhir/Observation?_id=o1&_include=Observation:subject")
    assert ids(body) == ["Observation/o1"]
    assert ids(body, "include") == ["Patient/p1"]
    assert body["total"] == 1


def test_post_search_with_a_form_body(loaded: TestClient) -> None:
    answer = loaded.post(
        "/fhir/Observation/_search",
        content="subject=Patient%2Fp1&code=8310-5",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert ids(answer.json()) == ["Observation/o2"]


def next_url(body: dict[str, Any]) -> str | None:
    for link in body["link"]:
        if link["relation"] == "next":
            parts = urlsplit(link["url"])
            return f"{parts.path}?{parts.query}"
    return None


def test_paging_stays_correct_while_data_is_written(loaded: TestClient) -> None:
    for n in range(7):
        put(loaded, {**observation(subject="Patient/p2", value=n), "id": f"w{n}"})
    url: str | None = "/fhir/Observation?subject=Patient/p2&_count=3"
    before = {"Observation/o3", *(f"Observation/w{n}" for n in range(7))}
    seen: list[str] = []
    for page in range(10):
        assert url is not None
        body = bundle(loaded, url)
        seen += ids(body)
        # meanwhile: a new matching resource, an update of one already seen, a deletion
        put(loaded, {**observation(subject="Patient/p2"), "id": f"late{page}"})
        put(loaded, {**observation(subject="Patient/p2", value=99), "id": "o3"})
        url = next_url(body)
        if url is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == before
