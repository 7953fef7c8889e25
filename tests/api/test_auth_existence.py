"""A restricted token learns nothing about resources outside its grant: 404 alike for hidden,
hidden-and-deleted and missing ids (read, vread, instance history), and a history ``total``
that counts only the versions it may see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Smart

OBSERVATIONS = (("mine", "p1"), ("theirs", "p2"), ("mine-gone", "p1"), ("theirs-gone", "p2"))


def _obs(id: str, subject: str, value: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
        "valueQuantity": {"value": value},
    }


@pytest.fixture
def seeded(smart: Smart) -> Smart:
    """Patients p1, p2; Observations of each (three versions), and a deleted one of each."""
    system = smart.as_bearer(smart.system_token())
    http = smart.http
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": p} for p in ("p1", "p2")]
    resources += [_obs(id, subject) for id, subject in OBSERVATIONS]
    for resource in resources:
        path = f"/fhir/{resource['resourceType']}/{resource['id']}"
        assert http.put(path, json=resource, headers=system).status_code == 201
    for value in (2, 3):
        for id, subject in OBSERVATIONS[:2]:
            http.put(f"/fhir/Observation/{id}", json=_obs(id, subject, value), headers=system)
    for id, _ in OBSERVATIONS[2:]:
        assert http.delete(f"/fhir/Observation/{id}", headers=system).status_code in (200, 204)
    return smart


@pytest.fixture
def patient(seeded: Smart) -> dict[str, str]:
    return seeded.as_bearer(seeded.app_tokens("launch/patient patient/*.rs")["access_token"])


def _answer(smart: Smart, path: str, headers: dict[str, str], id: str) -> tuple[int, str]:
    """Status and body, with the id replaced, so answers for different ids compare."""
    answer = smart.http.get(path.format(id=id), headers=headers)
    return answer.status_code, answer.text.replace(id, "ID")


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Observation/{id}",
        "/fhir/Observation/{id}/_history/1",
        "/fhir/Observation/{id}/_history",
    ],
)
def test_hidden_deleted_and_missing_answer_alike(
    seeded: Smart, patient: dict[str, str], path: str
) -> None:
    answers = {id: _answer(seeded, path, patient, id) for id in ("theirs", "theirs-gone", "none")}
    assert answers["none"][0] == 404
    assert answers["theirs"] == answers["none"]
    assert answers["theirs-gone"] == answers["none"]


def test_own_resources_keep_their_real_answers(seeded: Smart, patient: dict[str, str]) -> None:
    http = seeded.http
    assert http.get("/fhir/Observation/mine", headers=patient).status_code == 200
    assert http.get("/fhir/Observation/mine/_history/1", headers=patient).status_code == 200
    assert http.get("/fhir/Observation/mine-gone", headers=patient).status_code == 410
    assert http.get("/fhir/Observation/mine-gone/_history/2", headers=patient).status_code == 410
    history = http.get("/fhir/Observation/mine-gone/_history", headers=patient).json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT"]
    assert history["total"] == 2


def test_an_unrestricted_token_still_sees_410_for_deleted(seeded: Smart) -> None:
    system = seeded.as_bearer(seeded.system_token("system/*.rs"))
    assert seeded.http.get("/fhir/Observation/theirs-gone", headers=system).status_code == 410


def test_history_total_counts_only_visible_versions(seeded: Smart, patient: dict[str, str]) -> None:
    http = seeded.http
    system = seeded.as_bearer(seeded.system_token("system/*.rs"))
    everything = http.get("/fhir/Observation/_history", headers=system).json()
    assert everything["total"] == 10  # 3 + 3 + 2 + 2 versions of four Observations
    mine = http.get("/fhir/Observation/_history", headers=patient).json()
    assert mine["total"] == 5  # mine x3, mine-gone x2
    assert {e["fullUrl"].rsplit("/", 1)[1] for e in mine["entry"]} == {"mine", "mine-gone"}
    paged, seen = http.get("/fhir/Observation/_history?_count=2", headers=patient).json(), []
    for _ in range(5):
        seen.extend(e["response"]["etag"] for e in paged["entry"])
        assert paged["total"] == 5
        following = [link["url"] for link in paged["link"] if link["relation"] == "next"]
        if not following:
            break
        paged = http.get(following[0].split("testserver", 1)[1], headers=patient).json()
    assert len(seen) == 5
    system_history = http.get("/fhir/_history", headers=patient).json()
    assert system_history["total"] == 6  # and Patient/p1
