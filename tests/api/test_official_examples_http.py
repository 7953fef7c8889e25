"""Published R4 examples over HTTP: PUT by id, GET back unchanged, Bundles POSTed to the base.

tests/contract/test_official_examples.py covers storage and search on every backend; this
module covers what only HTTP shows: status codes, the JSON the server renders and the
processing of the examples that are batch or transaction Bundles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.contract.test_official_examples import (
    FILES,
    differences,
    load,
    without_server_meta,
)

BUNDLES = [p for p in FILES if load(p).get("type") in ("batch", "transaction")]
CANNOT_SUCCEED = {
    "Bundle-bundle-transaction": (
        'entry[4] updates Patient/123a with ifMatch W/"2" although a fresh server holds no'
        " such resource (412, R4 http.html#concurrency); entry[9] reads Patient/12334, which"
        " does not exist (404); entry[7] calls ValueSet/$lookup, an operation R4 defines on"
        " CodeSystem only. One failing entry fails the whole transaction (http.html#trules)."
    ),
}
"""Example Bundles that no server can process successfully, with the R4 rule they break."""


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_put_by_id_is_created_and_read_back_unchanged(
    client: TestClient, path: Path
) -> None:
    resource = load(path)
    url = f"/fhir/{resource['resourceType']}/{resource['id']}"
    created = client.put(url, json=resource)
    assert created.status_code == 201, created.text
    read = client.get(url)
    assert read.status_code == 200
    assert differences(without_server_meta(resource), without_server_meta(read.json())) == []


def _statuses(response: Any) -> list[str]:
    return [entry["response"]["status"] for entry in response.json()["entry"]]


@pytest.mark.parametrize(
    "path",
    [p for p in BUNDLES if p.stem not in CANNOT_SUCCEED],
    ids=[p.stem for p in BUNDLES if p.stem not in CANNOT_SUCCEED],
)
def test_example_bundle_posted_to_the_base_succeeds(client: TestClient, path: Path) -> None:
    bundle = load(path)
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == f"{bundle['type']}-response"
    assert all(status[0] == "2" for status in _statuses(answer)), _statuses(answer)
    for entry in answer.json()["entry"]:
        location = entry["response"].get("location")
        if location:
            assert client.get(location.split("/_history/")[0]).status_code == 200


@pytest.mark.parametrize("name", sorted(CANNOT_SUCCEED))
def test_example_transaction_that_cannot_succeed_fails_whole(client: TestClient, name: str) -> None:
    answer = client.post("/fhir", json=load(Path(FILES[0].parent, f"{name}.json")))
    assert 400 <= answer.status_code < 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[" in answer.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/_history").json()["total"] == 0
