"""JSON Merge Patch (RFC 7386): partial resources PATCHed the way clients such as fhirpy do."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_server.core.merge_patch import apply_merge_patch
from tests.factories import patient

MERGE = {"Content-Type": "application/merge-patch+json"}


def _created(client: TestClient) -> dict[str, Any]:
    body = {**patient(), "telecom": [{"system": "phone", "value": "555-0100"}]}
    created: dict[str, Any] = client.post("/fhir/Patient", json=body).json()
    return created


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # RFC 7386 appendix A, in part
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc_7386_examples(target: Any, patch: Any, expected: Any) -> None:
    before = repr(target)
    assert apply_merge_patch(target, patch) == expected
    assert repr(target) == before  # the target is not changed in place


def test_a_partial_resource_sent_as_json_is_merged(client: TestClient) -> None:
    created = _created(client)
    response = client.patch(
        f"/fhir/Patient/{created['id']}",
        json={"gender": "other", "active": False},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["gender"], patched["active"]) == ("other", False)
    assert patched["name"] == created["name"]  # untouched elements stay
    assert patched["meta"]["versionId"] == "2"


def test_null_removes_and_arrays_are_replaced_whole(client: TestClient) -> None:
    created = _created(client)
    new_telecom = [{"system": "email", "value": "a@example.org"}]
    response = client.patch(
        f"/fhir/Patient/{created['id']}",
        json={"birthDate": None, "telecom": new_telecom},
        headers=MERGE,
    )
    assert response.status_code == 200, response.text
    read = client.get(f"/fhir/Patient/{created['id']}").json()
    assert "birthDate" not in read
    assert read["telecom"] == new_telecom


def test_if_match_and_invalid_results_are_refused_and_change_nothing(
    client: TestClient,
) -> None:
    created = _created(client)
    url = f"/fhir/Patient/{created['id']}"
    stale = client.patch(url, json={"active": False}, headers={**MERGE, "If-Match": 'W/"9"'})
    assert stale.status_code == 412
    for body in ({"id": "another"}, {"resourceType": "Observation"}):
        assert client.patch(url, json=body, headers=MERGE).status_code == 422
    invalid = client.patch(url, json={"gender": "robot"}, headers=MERGE)
    assert invalid.status_code == 400
    assert invalid.json()["resourceType"] == "OperationOutcome"
    not_object = client.patch(url, json=[1], headers=MERGE)
    assert not_object.status_code == 400
    assert client.get(url).json()["meta"]["versionId"] == "1"


def test_merging_what_is_already_there_creates_no_version(client: TestClient) -> None:
    created = _created(client)
    url = f"/fhir/Patient/{created['id']}"
    same = client.patch(url, json={"gender": created["gender"]}, headers=MERGE)
    assert same.status_code == 200
    assert same.json()["meta"]["versionId"] == "1"
