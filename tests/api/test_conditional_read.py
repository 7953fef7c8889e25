"""Conditional read (https://hl7.org/fhir/R4/http.html#cread) and HEAD on read/vread."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient

PATIENT = {"resourceType": "Patient", "id": "cr1", "name": [{"family": "Cache"}]}


@pytest.fixture
def stored(client: TestClient) -> dict[str, str]:
    assert client.put("/fhir/Patient/cr1", json=PATIENT).status_code == 201
    answer = client.get("/fhir/Patient/cr1")
    return {"etag": answer.headers["etag"], "last_modified": answer.headers["last-modified"]}


@pytest.mark.parametrize("path", ["/fhir/Patient/cr1", "/fhir/Patient/cr1/_history/1"])
def test_if_none_match_with_the_current_etag_is_304_without_a_body(
    client: TestClient, stored: dict[str, str], path: str
) -> None:
    answer = client.get(path, headers={"If-None-Match": stored["etag"]})
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["etag"] == stored["etag"]
    assert answer.headers["last-modified"] == stored["last_modified"]


def test_if_none_match_with_an_old_etag_returns_the_new_version(
    client: TestClient, stored: dict[str, str]
) -> None:
    changed = {**PATIENT, "name": [{"family": "Changed"}]}
    assert client.put("/fhir/Patient/cr1", json=changed).status_code == 200
    answer = client.get("/fhir/Patient/cr1", headers={"If-None-Match": stored["etag"]})
    assert answer.status_code == 200
    assert answer.json()["name"][0]["family"] == "Changed"
    assert answer.headers["etag"] == 'W/"2"'


def test_if_none_match_accepts_a_list_and_a_strong_tag(
    client: TestClient, stored: dict[str, str]
) -> None:
    answer = client.get("/fhir/Patient/cr1", headers={"If-None-Match": 'W/"9", "1"'})
    assert answer.status_code == 304


def test_if_modified_since_compares_with_last_modified(
    client: TestClient, stored: dict[str, str]
) -> None:
    same = client.get("/fhir/Patient/cr1", headers={"If-Modified-Since": stored["last_modified"]})
    assert same.status_code == 304
    earlier = parsedate_to_datetime(stored["last_modified"]).replace(year=2001)
    old = client.get("/fhir/Patient/cr1", headers={"If-Modified-Since": format_datetime(earlier)})
    assert old.status_code == 200
    assert old.json()["id"] == "cr1"
    unreadable = client.get("/fhir/Patient/cr1", headers={"If-Modified-Since": "yesterday"})
    assert unreadable.status_code == 200


def test_if_none_match_wins_over_if_modified_since(
    client: TestClient, stored: dict[str, str]
) -> None:
    headers = {"If-None-Match": 'W/"5"', "If-Modified-Since": stored["last_modified"]}
    assert client.get("/fhir/Patient/cr1", headers=headers).status_code == 200


def test_a_deleted_resource_is_410_whatever_the_condition(
    client: TestClient, stored: dict[str, str]
) -> None:
    assert client.delete("/fhir/Patient/cr1").status_code in (200, 204)
    answer = client.get("/fhir/Patient/cr1", headers={"If-None-Match": stored["etag"]})
    assert answer.status_code == 410


def test_head_gives_the_headers_of_a_read(client: TestClient, stored: dict[str, str]) -> None:
    answer = client.head("/fhir/Patient/cr1")
    assert answer.status_code == 200
    assert answer.headers["etag"] == stored["etag"]
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert client.head("/fhir/Patient/unknown").status_code == 404
