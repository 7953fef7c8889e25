"""Client-visible errors of the core REST path are OperationOutcomes with the right status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server

LIMIT = 4096
FHIR_JSON = "application/fhir+json"


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose body limit is ``LIMIT`` bytes."""
    data_dir: Path = tmp_path_factory.mktemp("errors")
    with running_server(data_dir, env={"FHIR_SERVER_MAX_BODY_BYTES": str(LIMIT)}) as process:
        yield process


@pytest.fixture(scope="module")
def client(small_server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client on the server's FHIR base."""
    headers = {"Content-Type": FHIR_JSON}
    with httpx.Client(base_url=small_server.base_url, headers=headers, timeout=30) as http:
        yield http


def outcome(response: httpx.Response, status: int) -> dict[str, Any]:
    """The OperationOutcome body of ``response``, after checking its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    assert "Traceback" not in response.text
    return body


def test_malformed_json_is_400(client: httpx.Client) -> None:
    outcome(client.post("/Observation", content=b'{"resourceType": "Obs'), 400)


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    big = b'{"resourceType": "Basic", "code": {"text": "' + b"x" * LIMIT + b'"}}'
    outcome(client.post("/Basic", content=big), 413)


def test_streamed_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * 1024

    outcome(client.post("/Basic", content=chunks()), 413)


def test_wrong_method_is_405(client: httpx.Client) -> None:
    outcome(client.post("/metadata", content=b"{}"), 405)


def test_unknown_type_is_404(client: httpx.Client) -> None:
    outcome(client.get("/NoSuchType/1"), 404)


def test_xml_is_406_and_415(client: httpx.Client) -> None:
    outcome(client.get("/metadata", headers={"Accept": "application/fhir+xml"}), 406)
    xml = client.post("/Basic", content=b"<Basic/>", headers={"Content-Type": "application/xml"})
    outcome(xml, 415)


HUGE = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        f"/Basic/x/_history/{HUGE}",
        f"/Basic?_offset={HUGE}",
        f"/Basic?_count={HUGE}",
        f"/Basic/_history?_count={HUGE}",
    ],
)
def test_out_of_range_numbers_are_client_errors_or_empty(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 400, 404), response.text
    assert "Traceback" not in response.text
    if response.status_code != 200:
        outcome(response, response.status_code)
    else:
        assert response.json()["resourceType"] == "Bundle"
