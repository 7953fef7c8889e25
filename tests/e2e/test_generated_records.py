"""Generated (Synthea-shaped) patient records uploaded to a real server and searched back."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.records import NPI, SYNTHEA, PatientRecord, Provider, patient_record
from tests.support.server import ServerProcess

FHIR_JSON = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}
PATIENTS = 6


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> httpx.Client:
    with httpx.Client(base_url=server.base_url, headers=FHIR_JSON, timeout=30) as http:
        yield http  # type: ignore[misc]


@pytest.fixture(scope="module")
def records(client: httpx.Client) -> list[PatientRecord]:
    provider = Provider()
    first = client.post("", json=provider.bundle())
    assert first.status_code == 200, first.text
    assert [e["response"]["status"][:3] for e in first.json()["entry"]] == ["201"] * 3
    rng = random.Random(7)
    generated = [patient_record(rng, provider) for _ in range(PATIENTS)]

    def upload(record: PatientRecord) -> httpx.Response:
        return client.post("", json=record.bundle)

    with ThreadPoolExecutor(max_workers=3) as pool:
        responses = list(pool.map(upload, generated))
    for response in responses:
        assert response.status_code == 200, response.text
        assert {e["response"]["status"][:3] for e in response.json()["entry"]} == {"201"}
    return generated


def _search(client: httpx.Client, query: str) -> dict[str, Any]:
    response = client.get(query)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    return bundle


def _count(client: httpx.Client, query: str) -> int:
    separator = "&" if "?" in query else "?"
    total: int = _search(client, f"{query}{separator}_summary=count")["total"]
    return total


def test_provider_bundle_is_idempotent(client: httpx.Client, records: list[PatientRecord]) -> None:
    again = client.post("", json=Provider().bundle())
    assert again.status_code == 200
    assert [e["response"]["status"][:3] for e in again.json()["entry"]] == ["200"] * 3
    assert _count(client, f"Practitioner?identifier={NPI}|{Provider().npi}") == 1
    assert _count(client, "Organization") == 1


def test_every_resource_of_every_record_is_stored(
    client: httpx.Client, records: list[PatientRecord]
) -> None:
    expected: dict[str, int] = {}
    for record in records:
        for kind, count in record.counts.items():
            expected[kind] = expected.get(kind, 0) + count
    for kind, count in expected.items():
        assert _count(client, kind) == count, kind


def test_patient_is_found_by_identifier_and_name(
    client: httpx.Client, records: list[PatientRecord]
) -> None:
    record = records[0]
    found = _search(client, f"Patient?identifier={SYNTHEA}|{record.mrn}")
    assert found["total"] == 1
    patient = found["entry"][0]["resource"]
    assert patient["id"] != record.mrn, "POST assigns a server id"
    assert patient["extension"][0]["extension"][0]["valueCoding"]["code"] == "2106-3"
    by_name = _search(client, f"Patient?family={record.family.lower()}")
    assert patient["id"] in {e["resource"]["id"] for e in by_name["entry"]}


def test_references_are_resolved_to_stored_resources(
    client: httpx.Client, records: list[PatientRecord]
) -> None:
    record = records[1]
    patient_id = _search(client, f"Patient?identifier={SYNTHEA}|{record.mrn}")["entry"][0][
        "resource"
    ]["id"]
    practitioner_id = _search(client, f"Practitioner?identifier={NPI}|{Provider().npi}")["entry"][
        0
    ]["resource"]["id"]
    encounters = _search(client, f"Encounter?patient={patient_id}&_include=Encounter:practitioner")
    matches = [e for e in encounters["entry"] if e["search"]["mode"] == "match"]
    included = [e for e in encounters["entry"] if e["search"]["mode"] == "include"]
    assert len(matches) == record.counts["Encounter"]
    assert [e["resource"]["id"] for e in included] == [practitioner_id]
    individual = matches[0]["resource"]["participant"][0]["individual"]["reference"]
    assert individual == f"Practitioner/{practitioner_id}"
    claims = _search(client, f"ExplanationOfBenefit?patient=Patient/{patient_id}")
    claim = claims["entry"][0]["resource"]
    assert claim["insurance"][0]["coverage"]["reference"] == "#coverage"
    assert claim["contained"][0]["beneficiary"]["reference"] == f"Patient/{patient_id}"


def test_vital_signs_are_searchable(client: httpx.Client, records: list[PatientRecord]) -> None:
    record = records[2]
    patient_id = _search(client, f"Patient?identifier={SYNTHEA}|{record.mrn}")["entry"][0][
        "resource"
    ]["id"]
    heart_rates = _search(
        client, f"Observation?subject=Patient/{patient_id}&code=http://loinc.org|8867-4"
    )
    assert heart_rates["total"] == record.counts["Encounter"]
    high = _search(
        client,
        "Observation?component-code-value-quantity=http://loinc.org|8480-6$ge100"
        f"&patient={patient_id}",
    )
    assert high["total"] == record.counts["Encounter"]
    systolic_values = {
        c["valueQuantity"]["value"]
        for e in high["entry"]
        for c in e["resource"]["component"]
        if c["code"]["coding"][0]["code"] == "8480-6"
    }
    assert all(value >= 100 for value in systolic_values)


def test_unresolvable_conditional_reference_fails_and_leaves_nothing(
    client: httpx.Client, records: list[PatientRecord]
) -> None:
    before = _count(client, "Patient")
    broken = patient_record(random.Random(99), Provider(npi="0000000000"))
    response = client.post("", json=broken.bundle)
    assert response.status_code in (400, 404, 412, 422)
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _count(client, "Patient") == before
