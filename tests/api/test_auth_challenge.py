"""RFC 6750 section 3: the ``WWW-Authenticate`` challenge on 401 and insufficient-scope 403."""

from __future__ import annotations

import re

from tests.api.conftest import Smart

_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _challenge(smart: Smart, path: str, token: str | None) -> tuple[int, str, dict[str, str]]:
    headers = smart.as_bearer(token) if token is not None else {}
    answer = smart.http.get(path, headers=headers)
    assert answer.json()["resourceType"] == "OperationOutcome"
    value = answer.headers["www-authenticate"]
    return answer.status_code, value, dict(_PARAM.findall(value))


def test_missing_token_gets_only_the_realm(smart: Smart) -> None:
    status, value, _ = _challenge(smart, "/fhir/Patient", None)
    assert (status, value) == (401, 'Bearer realm="fhir"')


def test_malformed_token_is_invalid_token(smart: Smart) -> None:
    status, value, params = _challenge(smart, "/fhir/Patient", "not-a-jwt")
    assert status == 401
    assert value.startswith("Bearer ")
    assert params["realm"] == "fhir"
    assert params["error"] == "invalid_token"
    assert params["error_description"].startswith("invalid access token")


def test_revoked_token_is_invalid_token(smart: Smart) -> None:
    token = smart.app_tokens("launch/patient patient/*.rs")["access_token"]
    assert smart.http.get("/fhir/Patient/p1", headers=smart.as_bearer(token)).status_code == 404
    revoked = smart.http.post("/auth/revoke", data={"token": token, "client_id": "app"})
    assert revoked.status_code == 200
    status, _, params = _challenge(smart, "/fhir/Patient/p1", token)
    assert status == 401
    assert params["error"] == "invalid_token"
    assert "revoked" in params["error_description"]


def test_missing_scope_is_insufficient_scope_naming_the_scope(smart: Smart) -> None:
    token = smart.system_token("system/Patient.rs")
    status, _, params = _challenge(smart, "/fhir/Observation?code=x", token)
    assert status == 403
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "system/Observation.s"
    assert "Observation" in params["error_description"]


def test_admin_route_names_the_admin_scope(smart: Smart) -> None:
    token = smart.system_token("system/*.rs")
    answer = smart.http.post("/auth/launch", data={"patient": "p1"}, headers=smart.as_bearer(token))
    assert answer.status_code == 403
    params = dict(_PARAM.findall(answer.headers["www-authenticate"]))
    assert params == {
        "realm": "fhir",
        "error": "insufficient_scope",
        "error_description": "this request needs the admin/launch scope",
        "scope": "admin/launch",
    }
