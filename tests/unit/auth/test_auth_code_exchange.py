from __future__ import annotations

import base64
import secrets

import pytest
from auth_fakes import FHIR_BASE, REDIRECT, FixedClock, Flow

from fhir_server.auth.client_auth import ClientCredentials
from fhir_server.auth.jose import unverified_claims
from fhir_server.auth.policy import authorize, patient_guard, visible
from fhir_server.errors import Forbidden, InvalidRequest, Unauthorized


def _grant_error(caught: pytest.ExceptionInfo[InvalidRequest]) -> str | None:
    return caught.value.code


def test_code_exchange_returns_the_full_token_response(flow: Flow) -> None:
    tokens = flow.tokens()
    body = tokens.to_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "patient/Observation.rs fhirUser launch/patient offline_access openid"
    assert body["patient"] == "p1"
    assert body["need_patient_banner"] is True
    assert "refresh_token" in body
    assert flow.server.issuer.validate(tokens.access_token).patient == "p1"
    id_claims = unverified_claims(body["id_token"])
    assert id_claims["fhirUser"] == f"{FHIR_BASE}/Practitioner/prac1"
    assert id_claims["aud"] == "app"


def test_online_access_also_gets_a_refresh_token(flow: Flow) -> None:
    assert flow.tokens(scope="patient/*.rs launch/patient online_access").refresh_token


def test_openid_without_fhiruser_has_no_fhiruser_claim(flow: Flow) -> None:
    tokens = flow.tokens(scope="openid patient/*.rs launch/patient")
    assert tokens.id_token is not None
    assert "fhirUser" not in unverified_claims(tokens.id_token)


@pytest.mark.parametrize(
    "verifier", [None, "x" * 43, "too-short", "é" * 50, secrets.token_urlsafe(48)]
)
def test_missing_or_wrong_verifier_is_invalid_grant(flow: Flow, verifier: str | None) -> None:
    code = flow.code()
    with pytest.raises(InvalidRequest) as caught:
        flow.exchange(code, code_verifier=verifier)
    assert _grant_error(caught) == "invalid_grant"


def test_a_failed_exchange_burns_the_code(flow: Flow) -> None:
    code = flow.code()
    with pytest.raises(InvalidRequest):
        flow.exchange(code, code_verifier="x" * 43)
    with pytest.raises(InvalidRequest):
        flow.exchange(code)


def test_code_replay_is_refused_and_revokes_what_the_code_gave(flow: Flow) -> None:
    code = flow.code()
    tokens = flow.exchange(code)
    with pytest.raises(InvalidRequest) as caught:
        flow.exchange(code)
    assert _grant_error(caught) == "invalid_grant"
    with pytest.raises(Unauthorized):
        flow.server.issuer.validate(tokens.access_token)
    assert tokens.refresh_token is not None
    with pytest.raises(InvalidRequest):
        flow.server.token(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": "app",
            },
            None,
        )


@pytest.mark.parametrize("redirect_uri", [None, "https://evil.example/callback", f"{REDIRECT}/"])
def test_redirect_uri_must_match_at_the_token_endpoint(
    flow: Flow, redirect_uri: str | None
) -> None:
    code = flow.code()
    with pytest.raises(InvalidRequest) as caught:
        flow.exchange(code, redirect_uri=redirect_uri)
    assert _grant_error(caught) == "invalid_grant"


def test_code_of_another_client_is_refused(flow: Flow) -> None:
    flow.server.clients.register(
        "public", client_id="app2", scopes="patient/*.rs", redirect_uris=(REDIRECT,)
    )
    code = flow.code()
    with pytest.raises(InvalidRequest) as caught:
        flow.exchange(code, client_id="app2")
    assert _grant_error(caught) == "invalid_grant"


def test_code_expires(flow: Flow, clock: FixedClock) -> None:
    code = flow.code()
    clock.advance(61)
    with pytest.raises(InvalidRequest):
        flow.exchange(code)


def test_confidential_symmetric_client_authenticates_by_basic_or_post(flow: Flow) -> None:
    registration = flow.server.clients.register(
        "confidential-symmetric",
        client_id="web",
        scopes="patient/*.rs launch/patient",
        redirect_uris=(REDIRECT,),
    )
    secret = registration.secret
    assert secret is not None
    assert secret not in str(flow.server.clients.get("web"))
    basic = "Basic " + base64.b64encode(f"web:{secret}".encode()).decode()
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}
    code = flow.code(client_id="web", scope="patient/*.rs launch/patient")
    verifier = {"code_verifier": flow.verifier}
    assert flow.server.token({**form, "code": code, **verifier}, basic).access_token
    code = flow.code(client_id="web", scope="patient/*.rs launch/patient")
    posted = {**form, "code": code, **verifier, "client_id": "web", "client_secret": secret}
    assert flow.server.token(posted, None).access_token


@pytest.mark.parametrize(
    ("form", "authorization"),
    [
        ({"client_id": "web"}, None),
        ({"client_id": "web", "client_secret": "wrong"}, None),
        ({}, "Basic " + base64.b64encode(b"web:wrong").decode()),
        ({}, "Basic !!!"),
        ({}, "Basic " + base64.b64encode(b"no-colon").decode()),
        ({"client_id": "app", "client_secret": "anything"}, None),
        ({}, None),
    ],
)
def test_client_authentication_failures(
    flow: Flow, form: dict[str, str], authorization: str | None
) -> None:
    flow.server.clients.register(
        "confidential-symmetric", client_id="web", scopes="patient/*.rs", redirect_uris=(REDIRECT,)
    )
    with pytest.raises((Unauthorized, InvalidRequest)) as caught:
        flow.server.token({"grant_type": "authorization_code", "code": "x", **form}, authorization)
    assert caught.value.code in ("invalid_client", "invalid_request")


def test_two_client_authentication_methods_at_once_are_refused(flow: Flow) -> None:
    basic = "Basic " + base64.b64encode(b"web:secret").decode()
    with pytest.raises(InvalidRequest) as caught:
        flow.server.token({"grant_type": "authorization_code", "client_secret": "s"}, basic)
    assert caught.value.code == "invalid_request"


def test_unsupported_grant_type(flow: Flow) -> None:
    with pytest.raises(InvalidRequest) as caught:
        flow.server.token({"grant_type": "password", "client_id": "app"}, None)
    assert caught.value.code == "unsupported_grant_type"


def test_missing_code_is_invalid_request(flow: Flow) -> None:
    with pytest.raises(InvalidRequest) as caught:
        flow.server.token({"grant_type": "authorization_code", "client_id": "app"}, None)
    assert caught.value.code == "invalid_request"


def test_patient_token_end_to_end_sees_only_its_patient(flow: Flow) -> None:
    tokens = flow.tokens(scope="launch/patient patient/Observation.rs")
    caller = flow.server.caller(f"Bearer {tokens.access_token}")
    authorize(caller, "search", "Observation")
    assert patient_guard(caller, "Observation") == ("subject", "performer")
    mine = {"resourceType": "Observation", "subject": {"reference": "Patient/p1"}}
    theirs = {"resourceType": "Observation", "subject": {"reference": "Patient/p2"}}
    assert visible(caller, mine)
    assert not visible(caller, theirs)
    with pytest.raises(Forbidden):
        authorize(caller, "create", "Observation")


def test_service_functions_for_each_grant(flow: Flow) -> None:
    credentials = ClientCredentials(client_id="app")
    tokens = flow.server.exchange_code(flow.code(), flow.verifier, REDIRECT, credentials)
    assert tokens.refresh_token is not None
    refreshed = flow.server.refresh(tokens.refresh_token, "patient/Observation.r", credentials)
    assert refreshed.scope == "patient/Observation.r"
