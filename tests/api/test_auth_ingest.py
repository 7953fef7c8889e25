"""Ingestion routes: system/ scopes to ingest, admin/ingest for the dead letters."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Smart

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hl7v2"
HL7 = {"Content-Type": "application/hl7-v2"}


def _hl7(name: str) -> bytes:
    text = (FIXTURES / name).read_bytes()
    return text.replace(b"\r\n", b"\r").replace(b"\n", b"\r")


@pytest.fixture
def ops(smart: Smart) -> dict[str, str]:
    """A confidential client allowed admin/ingest, with its token."""
    secret = smart.auth.clients.register(
        "confidential-symmetric", client_id="ops", scopes="system/*.cruds admin/ingest"
    ).secret
    answer = smart.http.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "admin/ingest system/*.cruds"},
        auth=("ops", secret or ""),
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["scope"].split()) == {"admin/ingest", "system/*.cruds"}
    return smart.as_bearer(answer.json()["access_token"])


@pytest.fixture
def dead_letter(smart: Smart) -> str:
    """An ORU for a patient the server does not know yet: held as a dead letter."""
    system = smart.as_bearer(smart.system_token())
    held = smart.http.post(
        "/ingest/hl7v2", content=_hl7("oru_r01_lab_v251.hl7"), headers={**HL7, **system}
    )
    assert held.status_code == 422, held.text
    dead = smart.http.get("/ingest/dead-letters", headers=system)
    assert dead.status_code == 403  # system/*.cruds alone is not admin
    return str(held.json()["issue"][0]["diagnostics"].split()[1])


def _challenge(answer: httpx.Response) -> str:
    return answer.headers.get("www-authenticate", "")


def test_ingest_needs_a_token(smart: Smart) -> None:
    answer = smart.http.post("/ingest/hl7v2", content=_hl7("adt_a01_v251.hl7"), headers=HL7)
    assert answer.status_code == 401
    assert _challenge(answer) == 'Bearer realm="fhir"'


def test_ingest_refuses_a_patient_token_even_with_write_scopes(smart: Smart) -> None:
    patient = smart.as_bearer(smart.app_tokens("launch/patient patient/*.cruds")["access_token"])
    answer = smart.http.post(
        "/ingest/hl7v2", content=_hl7("adt_a01_v251.hl7"), headers={**HL7, **patient}
    )
    assert answer.status_code == 403
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert 'error="insufficient_scope"' in _challenge(answer)
    system = smart.as_bearer(smart.system_token())
    assert smart.http.get("/fhir/Patient", headers=system).json()["total"] == 0


def test_ingest_with_a_system_scope_still_needs_the_write_scopes(smart: Smart) -> None:
    read_only = smart.as_bearer(smart.system_token("system/*.rs"))
    refused = smart.http.post(
        "/ingest/hl7v2", content=_hl7("adt_a01_v251.hl7"), headers={**HL7, **read_only}
    )
    assert refused.status_code == 403
    writer = smart.as_bearer(smart.system_token("system/*.cruds"))
    done = smart.http.post(
        "/ingest/hl7v2", content=_hl7("adt_a01_v251.hl7"), headers={**HL7, **writer}
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "processed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ingest/dead-letters"),
        ("GET", "/ingest/dead-letters/{id}"),
        ("POST", "/ingest/dead-letters/{id}/$replay"),
        ("POST", "/ingest/dead-letters/$replay"),
    ],
)
def test_dead_letter_routes_need_admin_ingest(
    smart: Smart, dead_letter: str, method: str, path: str
) -> None:
    url = path.format(id=dead_letter)
    assert smart.http.request(method, url).status_code == 401
    for token in (
        smart.system_token("system/*.cruds admin/launch"),
        smart.app_tokens("launch/patient patient/*.cruds")["access_token"],
    ):
        denied = smart.http.request(method, url, headers=smart.as_bearer(token))
        assert denied.status_code == 403, denied.text
        assert 'error="insufficient_scope"' in _challenge(denied)
        assert 'scope="admin/ingest"' in _challenge(denied)


def test_admin_lists_shows_and_replays_dead_letters(
    smart: Smart, dead_letter: str, ops: dict[str, str]
) -> None:
    listed = smart.http.get("/ingest/dead-letters", headers=ops)
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["messages"]] == [dead_letter]
    shown = smart.http.get(f"/ingest/dead-letters/{dead_letter}", headers=ops)
    assert shown.status_code == 200
    assert shown.json()["payload"].startswith("MSH|")
    still_dead = smart.http.post(f"/ingest/dead-letters/{dead_letter}/$replay", headers=ops)
    assert still_dead.status_code == 422  # the patient is still unknown
    admitted = smart.http.post(
        "/ingest/hl7v2", content=_hl7("adt_a01_v251.hl7"), headers={**HL7, **ops}
    )
    assert admitted.status_code == 200, admitted.text
    replayed = smart.http.post(f"/ingest/dead-letters/{dead_letter}/$replay", headers=ops)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["state"] == "processed"
    everything = smart.http.post("/ingest/dead-letters/$replay", headers=ops)
    assert everything.status_code == 200
    assert everything.json() == {"replayed": 0, "processed": 0, "dead": 0}
