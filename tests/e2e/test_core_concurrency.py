"""Concurrent writers, in one server process and across ``--workers 2`` processes.

Exactly one of two racing ``If-Match`` updates wins; version numbers stay contiguous; a
conditional create raced from many clients creates one resource; a failing transaction
leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import running_server

FHIR_JSON = {"Content-Type": "application/fhir+json"}
ROUNDS = 10


@pytest.fixture(scope="module", params=[1, 2], ids=["workers1", "workers2"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The FHIR base URL of a server with one or two worker processes."""
    data_dir: Path = tmp_path_factory.mktemp(f"race{request.param}")
    with running_server(data_dir, args=("--workers", str(request.param))) as server:
        yield server.base_url


def basic(id_: str | None = None, text: str = "x", **extra: Any) -> dict[str, Any]:
    """A Basic resource."""
    resource = {"resourceType": "Basic", "code": {"text": text}, **extra}
    return {**resource, "id": id_} if id_ else resource


def put(base: str, id_: str, text: str, if_match: str | None = None) -> httpx.Response:
    """PUT Basic/id on its own connection (so that requests really overlap)."""
    headers = {**FHIR_JSON, **({"If-Match": if_match} if if_match else {})}
    return httpx.put(f"{base}/Basic/{id_}", json=basic(id_, text), headers=headers, timeout=30)


def test_exactly_one_of_two_if_match_updates_wins(base: str) -> None:
    for round_ in range(ROUNDS):
        id_ = f"race-{uuid.uuid4().hex[:10]}"
        assert put(base, id_, "v1").status_code == 201
        with ThreadPoolExecutor(2) as pool:
            racing = [pool.submit(put, base, id_, text, 'W/"1"') for text in ("a", "b")]
            results = [future.result() for future in racing]
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 412], (round_, [r.text for r in results])
        winner = next(r for r in results if r.status_code == 200).json()["code"]["text"]
        current = httpx.get(f"{base}/Basic/{id_}", timeout=30).json()
        assert (current["meta"]["versionId"], current["code"]["text"]) == ("2", winner)


def test_unconditional_updates_number_versions_without_gaps(base: str) -> None:
    id_ = f"count-{uuid.uuid4().hex[:10]}"
    assert put(base, id_, "v1").status_code == 201
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: put(base, id_, f"u{i}"), range(24)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    etags = sorted(int(r.headers["ETag"][3:-1]) for r in results)
    assert etags == list(range(2, 26))
    history = httpx.get(f"{base}/Basic/{id_}/_history", params={"_count": 100}, timeout=30)
    versions = [int(e["resource"]["meta"]["versionId"]) for e in history.json()["entry"]]
    assert versions == list(range(25, 0, -1))


def test_racing_conditional_creates_make_one_resource(base: str) -> None:
    value = uuid.uuid4().hex
    body = basic(identifier=[{"system": "urn:race", "value": value}])
    headers = {**FHIR_JSON, "If-None-Exist": f"identifier=urn:race|{value}"}

    def create(_: int) -> httpx.Response:
        return httpx.post(f"{base}/Basic", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(16)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 15 + [201]
    assert len({r.json()["id"] for r in results}) == 1
    found = httpx.get(f"{base}/Basic", params={"identifier": f"urn:race|{value}"}, timeout=30)
    assert len(found.json().get("entry", [])) == 1


def test_failing_transaction_leaves_nothing_behind(base: str) -> None:
    marker = uuid.uuid4().hex
    good = basic(identifier=[{"system": "urn:tx", "value": marker}])
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": good, "request": {"method": "POST", "url": "Basic"}},
            {"resource": good, "request": {"method": "PUT", "url": f"Basic/tx-{marker[:8]}"}},
            {"resource": {"resourceType": "Basic"}, "request": {"method": "POST", "url": "Basic"}},
        ],
    }
    response = httpx.post(base, json=bundle, headers=FHIR_JSON, timeout=30)
    assert response.status_code >= 400
    assert response.json()["resourceType"] == "OperationOutcome"
    found = httpx.get(f"{base}/Basic", params={"identifier": f"urn:tx|{marker}"}, timeout=30)
    assert found.json().get("entry", []) == []
    assert httpx.get(f"{base}/Basic/tx-{marker[:8]}", timeout=30).status_code == 404
