"""The fhirpy client (beda.software) against a real server: what its users do every day.

CRUD, its PATCH (a partial resource: JSON Merge Patch), its conditional create (search
parameters in the POST URL), search with sorting, counting, paging through every page,
includes, transactions, delete and history, and a refused write surfacing as its
``OperationOutcome`` exception.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.support.server import running_server

pytestmark = pytest.mark.e2e
HEART_RATE = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncFHIRClient]:
    with running_server(tmp_path_factory.mktemp("fhirpy")) as server:
        yield SyncFHIRClient(server.base_url)


def _heart_rate(client: SyncFHIRClient, subject: object, minute: int) -> None:
    client.resource(
        "Observation",
        status="final",
        code=HEART_RATE,
        subject=subject,
        effectiveDateTime=f"2024-01-01T00:{minute:02d}:00Z",
        valueQuantity={"value": 60 + minute, "unit": "/min", "code": "/min"},
    ).save()


def test_crud_patch_and_conditional_create(client: SyncFHIRClient) -> None:
    patient = client.resource(
        "Patient",
        name=[{"family": "Doe", "given": ["Jane"]}],
        gender="female",
        identifier=[{"system": "urn:mrn", "value": "fhirpy-1"}],
    )
    patient.save()
    assert patient["meta"]["versionId"] == "1"
    patient["active"] = True
    patient.save()
    assert patient["meta"]["versionId"] == "2"
    patient.patch(gender="other")
    patient.refresh()
    assert (patient["gender"], patient["meta"]["versionId"]) == ("other", "3")
    assert patient["name"][0]["family"] == "Doe"

    again = client.resource("Patient", identifier=[{"system": "urn:mrn", "value": "fhirpy-1"}])
    again.create(identifier="urn:mrn|fhirpy-1")
    assert again.id == patient.id
    found = client.resources("Patient").search(identifier="urn:mrn|fhirpy-1").get()
    assert found.id == patient.id

    with pytest.raises(OperationOutcome, match="calendar date"):
        client.resource("Patient", birthDate="2021-02-30").save()

    patient.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", patient.id).to_resource()
    history = client.execute(f"Patient/{patient.id}/_history", method="get")
    methods = [entry["request"]["method"] for entry in history["entry"]]
    assert methods == ["DELETE", "PUT", "PUT", "POST"]


def test_search_sort_count_paging_and_include(client: SyncFHIRClient) -> None:
    patient = client.resource("Patient", name=[{"family": "Paged"}])
    patient.save()
    for minute in range(45):
        _heart_rate(client, patient.to_reference(), minute)
    search = (
        client.resources("Observation")
        .search(subject=f"Patient/{patient.id}", code="http://loinc.org|8867-4")
        .sort("-date")
        .limit(10)
    )
    assert search.count() == 45
    assert search.first()["valueQuantity"]["value"] == 104
    every = search.fetch_all()
    assert len(every) == 45
    assert [o["valueQuantity"]["value"] for o in every] == list(range(104, 59, -1))
    with_subject = (
        client.resources("Observation")
        .search(patient=patient.id)
        .include("Observation", "subject")
        .limit(5)
        .fetch_raw()
    )
    modes = [entry["search"]["mode"] for entry in with_subject["entry"]]
    assert modes.count("match") == 5
    assert modes.count("include") == 1


def test_transaction_resolves_urn_uuid_references(client: SyncFHIRClient) -> None:
    patient_url = "urn:uuid:6f1c9a58-2f61-4e0c-9c55-1c7c3b2f6a10"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": HEART_RATE,
                    "subject": {"reference": patient_url},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    result = client.execute("", method="post", data=bundle)
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    location = result["entry"][0]["response"]["location"]  # [base/]Patient/id/_history/1
    patient_id = location.split("Patient/", 1)[1].split("/")[0]
    observations = client.resources("Observation").search(subject=f"Patient/{patient_id}")
    assert observations.count() == 1
