"""The OAuth endpoints over HTTP: each way a token request or a token can be wrong."""

from __future__ import annotations

import base64
import json
import time

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.api.conftest import APP_REDIRECT, SMART_BASE, Smart
from tests.support.smart import (
    ASSERTION_TYPE,
    Pkce,
    authorize_url,
    browser_login,
    client_assertion,
    query_of,
)

TOKEN_URL = "http://testserver/auth/token"


def _code(smart: Smart, pkce: Pkce, **extra: str) -> str:
    url = authorize_url(
        "http://testserver",
        "app",
        APP_REDIRECT,
        "launch/patient patient/*.rs offline_access",
        SMART_BASE,
        pkce,
        **extra,
    )
    return query_of(browser_login(smart.http, url, "pat", "pat-password"))["code"]


def _exchange(smart: Smart, code: str, verifier: str | None, redirect: str = APP_REDIRECT) -> dict:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "app",
        "redirect_uri": redirect,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    answer = smart.http.post("/auth/token", data=form)
    assert answer.headers["cache-control"] == "no-store"
    return {"status": answer.status_code, **answer.json()}


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(smart: Smart) -> None:
    url = authorize_url(
        "http://testserver", "app", "http://evil.example/cb", "patient/*.rs", SMART_BASE, Pkce()
    )
    page = smart.http.get(url, follow_redirects=False)
    assert page.status_code == 400
    assert "location" not in page.headers


def test_wrong_aud_is_refused_by_redirect(smart: Smart) -> None:
    url = authorize_url(
        "http://testserver",
        "app",
        APP_REDIRECT,
        "patient/*.rs",
        "http://other.example/fhir",
        Pkce(),
    )
    answer = smart.http.get(url, follow_redirects=False)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["error"] == "invalid_request"


def test_pkce_missing_or_wrong_verifier_and_replayed_code(smart: Smart) -> None:
    pkce = Pkce()
    code = _code(smart, pkce)
    assert _exchange(smart, code, None)["error"] == "invalid_grant"
    code = _code(smart, pkce)
    assert _exchange(smart, code, Pkce().verifier)["error"] == "invalid_grant"
    code = _code(smart, pkce)
    assert _exchange(smart, code, pkce.verifier, "http://127.0.0.1:9/other")["status"] == 400
    code = _code(smart, pkce)
    first = _exchange(smart, code, pkce.verifier)
    assert first["status"] == 200
    assert first["patient"] == "p1"
    replay = _exchange(smart, code, pkce.verifier)
    assert replay["error"] == "invalid_grant"


def test_refresh_rotates_and_cannot_escalate_scope(smart: Smart) -> None:
    tokens = smart.app_tokens("launch/patient patient/Observation.rs offline_access")
    escalate = smart.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app",
            "scope": "patient/*.cruds",
        },
    )
    assert escalate.status_code == 400
    assert escalate.json()["error"] == "invalid_scope"
    refreshed = smart.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app",
        },
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]


def _backend(smart: Smart, key: RSAKey | ECKey) -> None:
    smart.auth.clients.register(
        "confidential-asymmetric",
        client_id="backend",
        scopes="system/Observation.rs",
        jwks={"keys": [key.as_dict(private=False)]},
    )


def _client_credentials(smart: Smart, assertion: str) -> dict:
    answer = smart.http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "system/Observation.rs",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    return {"status": answer.status_code, **answer.json()}


def test_backend_assertion_es384_and_replayed_jti(smart: Smart) -> None:
    key = ECKey.generate_key("P-384", parameters={"kid": "k1"})
    _backend(smart, key)
    assertion = client_assertion(key, "backend", TOKEN_URL, jti="once")
    assert _client_credentials(smart, assertion)["status"] == 200
    replay = _client_credentials(smart, client_assertion(key, "backend", TOKEN_URL, jti="once"))
    assert replay["status"] == 401
    assert replay["error"] == "invalid_client"


def test_forged_and_unsigned_assertions_are_refused(smart: Smart) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    _backend(smart, key)
    forger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert (
        _client_credentials(smart, client_assertion(forger, "backend", TOKEN_URL))["status"] == 401
    )
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = {
        "iss": "backend",
        "sub": "backend",
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 60,
        "jti": "x",
    }
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _client_credentials(smart, f"{header}.{body}.")["status"] == 401


def test_access_tokens_that_must_not_work(smart: Smart) -> None:
    good = smart.system_token()
    assert smart.http.get("/fhir/Patient", headers=smart.as_bearer(good)).status_code == 200
    header, payload, _ = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forger = RSAKey.generate_key(2048)
    wrong_aud = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt"},
        {**claims, "aud": "http://x/fhir"},
        forger,
        algorithms=["RS256"],
    )
    expired_claims = {**claims, "exp": int(time.time()) - 10}
    expired = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt"}, expired_claims, forger, algorithms=["RS256"]
    )
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    none = f"{none_header}.{payload}."
    tampered = f"{header}.{payload[:-2]}AA.{good.split('.')[2]}"
    for bad in (wrong_aud, expired, none, tampered):
        answer = smart.http.get("/fhir/Patient", headers=smart.as_bearer(bad))
        assert answer.status_code == 401, bad
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_from_our_own_key_is_401(smart: Smart) -> None:
    token = smart.system_token()
    smart.auth.issuer._clock = lambda: time.time() + 3600  # type: ignore[attr-defined]
    assert smart.http.get("/fhir/Patient", headers=smart.as_bearer(token)).status_code == 401


def test_introspect_and_revoke(smart: Smart) -> None:
    token = smart.system_token()
    basic = ("loader", smart.loader_secret)
    active = smart.http.post("/auth/introspect", data={"token": token}, auth=basic).json()
    assert active["active"] is True
    assert active["scope"] == "system/*.cruds"
    assert smart.http.post("/auth/revoke", data={"token": token}, auth=basic).status_code == 200
    assert smart.http.post("/auth/introspect", data={"token": token}, auth=basic).json() == {
        "active": False
    }
    assert smart.http.get("/fhir/Patient", headers=smart.as_bearer(token)).status_code == 401


def test_admin_launch_endpoint_needs_the_admin_scope(smart: Smart) -> None:
    plain = smart.as_bearer(smart.system_token())
    denied = smart.http.post("/auth/launch", data={"patient": "p1"}, headers=plain)
    assert denied.status_code == 403
    admin = smart.as_bearer(smart.system_token("admin/launch"))
    created = smart.http.post("/auth/launch", data={"patient": "p1"}, headers=admin)
    assert created.status_code == 201
    assert created.json()["launch"]


def test_client_secret_post_without_scope_gets_the_registered_system_scopes(smart: Smart) -> None:
    answer = smart.http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "loader",
            "client_secret": smart.loader_secret,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "system/*.cruds"
    wrong = smart.http.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": "loader", "client_secret": "x"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
