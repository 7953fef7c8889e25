from __future__ import annotations

import base64

import pytest
from auth_fakes import FHIR_BASE, ISSUER, REDIRECT, FixedClock, Flow

from fhir_server.errors import InvalidRequest, Unauthorized


@pytest.fixture
def resource_server(flow: Flow) -> str:
    """Basic credentials of a confidential client allowed to introspect."""
    registration = flow.server.clients.register(
        "confidential-symmetric", client_id="rs", scopes="", redirect_uris=()
    )
    return "Basic " + base64.b64encode(f"rs:{registration.secret}".encode()).decode()


def test_introspect_active_access_token(flow: Flow, resource_server: str) -> None:
    tokens = flow.tokens()
    answer = flow.server.introspect(tokens.access_token, {}, resource_server)
    assert answer["active"] is True
    assert answer["scope"] == tokens.scope
    assert answer["client_id"] == "app"
    assert answer["sub"] == "alice"
    assert answer["patient"] == "p1"
    assert answer["fhirUser"] == f"{FHIR_BASE}/Practitioner/prac1"
    assert answer["iss"] == ISSUER
    assert answer["aud"] == FHIR_BASE
    assert answer["token_type"] == "Bearer"
    assert answer["exp"] == answer["iat"] + 300


def test_introspect_refresh_token(flow: Flow, resource_server: str) -> None:
    tokens = flow.tokens()
    assert tokens.refresh_token is not None
    answer = flow.server.introspect(tokens.refresh_token, {}, resource_server)
    assert answer["active"] is True
    assert answer["token_type"] == "refresh_token"
    assert answer["patient"] == "p1"


def test_introspect_expired_or_unknown_token_is_inactive(
    flow: Flow, resource_server: str, clock: FixedClock
) -> None:
    tokens = flow.tokens()
    clock.advance(300)
    assert flow.server.introspect(tokens.access_token, {}, resource_server) == {"active": False}
    assert flow.server.introspect("garbage", {}, resource_server) == {"active": False}


def test_introspection_with_a_bearer_token_of_the_same_client(flow: Flow) -> None:
    tokens = flow.tokens()
    answer = flow.server.introspect(tokens.access_token, {}, f"Bearer {tokens.access_token}")
    assert answer["active"] is True


def test_bearer_cannot_introspect_another_clients_token(flow: Flow) -> None:
    flow.server.clients.register(
        "public", client_id="app2", scopes="patient/*.rs launch/patient", redirect_uris=(REDIRECT,)
    )
    theirs = flow.tokens()
    mine = flow.exchange(
        flow.code(client_id="app2", scope="patient/*.rs launch/patient"), client_id="app2"
    )
    answer = flow.server.introspect(theirs.access_token, {}, f"Bearer {mine.access_token}")
    assert answer == {"active": False}


@pytest.mark.parametrize(
    ("form", "authorization"),
    [({}, None), ({"client_id": "app"}, None), ({}, "Bearer not-a-token")],
)
def test_introspection_needs_an_authorized_requester(
    flow: Flow, form: dict[str, str], authorization: str | None
) -> None:
    tokens = flow.tokens()
    with pytest.raises(Unauthorized):
        flow.server.introspect(tokens.access_token, form, authorization)


def test_revoke_access_token_stops_it_at_once(flow: Flow, resource_server: str) -> None:
    tokens = flow.tokens()
    flow.server.revoke({"token": tokens.access_token, "client_id": "app"}, None)
    assert flow.server.introspect(tokens.access_token, {}, resource_server) == {"active": False}
    with pytest.raises(Unauthorized):
        flow.server.caller(f"Bearer {tokens.access_token}")
    assert tokens.refresh_token is not None
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens.refresh_token,
        "client_id": "app",
    }
    assert flow.server.token(form, None).access_token


def test_revoke_refresh_token_revokes_the_whole_authorization(
    flow: Flow, resource_server: str
) -> None:
    tokens = flow.tokens()
    assert tokens.refresh_token is not None
    flow.server.revoke(
        {"token": tokens.refresh_token, "client_id": "app", "token_type_hint": "refresh_token"},
        None,
    )
    assert flow.server.introspect(tokens.refresh_token, {}, resource_server) == {"active": False}
    assert flow.server.introspect(tokens.access_token, {}, resource_server) == {"active": False}
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens.refresh_token,
        "client_id": "app",
    }
    with pytest.raises(InvalidRequest):
        flow.server.token(form, None)


def test_revoke_with_access_token_hint(flow: Flow) -> None:
    tokens = flow.tokens()
    form = {"token": tokens.access_token, "client_id": "app", "token_type_hint": "access_token"}
    flow.server.revoke(form, None)
    with pytest.raises(Unauthorized):
        flow.server.issuer.validate(tokens.access_token)


def test_revoking_unknown_tokens_is_fine(flow: Flow) -> None:
    flow.server.revoke({"token": "unknown", "client_id": "app"}, None)


def test_revoke_needs_the_token_parameter(flow: Flow) -> None:
    with pytest.raises(InvalidRequest):
        flow.server.revoke({"client_id": "app"}, None)


def test_a_client_cannot_revoke_another_clients_token(flow: Flow) -> None:
    flow.server.clients.register(
        "public", client_id="app2", scopes="patient/*.rs", redirect_uris=(REDIRECT,)
    )
    tokens = flow.tokens()
    with pytest.raises(InvalidRequest) as caught:
        flow.server.revoke({"token": tokens.access_token, "client_id": "app2"}, None)
    assert caught.value.code == "unauthorized_client"
    assert flow.server.issuer.validate(tokens.access_token)
