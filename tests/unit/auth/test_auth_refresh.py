from __future__ import annotations

import pytest
from auth_fakes import REDIRECT, FixedClock, Flow

from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.opaque import digest
from fhir_server.auth.responses import TokenResponse
from fhir_server.auth.token_state import REFRESH
from fhir_server.errors import InvalidRequest, Unauthorized


def _refresh(
    flow: Flow, token: str | None, scope: str | None = None, client: str = "app"
) -> TokenResponse:
    assert token is not None
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client}
    return flow.server.token({**form, **({"scope": scope} if scope else {})}, None)


def test_refresh_rotates_the_token_and_keeps_the_context(flow: Flow) -> None:
    first = flow.tokens()
    second = _refresh(flow, first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.scope == first.scope
    assert second.patient == "p1"
    assert flow.server.issuer.validate(second.access_token).patient == "p1"
    third = _refresh(flow, second.refresh_token)
    assert third.access_token


def test_refresh_tokens_are_stored_hashed(flow: Flow, store: MemoryAuthStore) -> None:
    tokens = flow.tokens()
    assert tokens.refresh_token is not None
    stored = dict(store.items(REFRESH))
    assert list(stored) == [digest(tokens.refresh_token)]
    assert tokens.refresh_token not in str(stored)


def test_reusing_a_rotated_refresh_token_revokes_the_authorization(flow: Flow) -> None:
    first = flow.tokens()
    second = _refresh(flow, first.refresh_token)
    with pytest.raises(InvalidRequest) as caught:
        _refresh(flow, first.refresh_token)
    assert caught.value.code == "invalid_grant"
    with pytest.raises(Unauthorized):
        flow.server.issuer.validate(second.access_token)
    with pytest.raises(InvalidRequest):
        _refresh(flow, second.refresh_token)


def test_refresh_may_narrow_but_not_escalate(flow: Flow) -> None:
    tokens = flow.tokens()
    with pytest.raises(InvalidRequest) as caught:
        _refresh(flow, tokens.refresh_token, scope="patient/*.cruds offline_access")
    assert caught.value.code == "invalid_scope"
    with pytest.raises(InvalidRequest):
        _refresh(
            flow, tokens.refresh_token, scope="patient/Observation.rs user/*.rs offline_access"
        )
    narrowed = _refresh(flow, tokens.refresh_token, scope="patient/Observation.r offline_access")
    assert narrowed.scope == "patient/Observation.r offline_access"
    widened_back = _refresh(flow, narrowed.refresh_token)
    assert widened_back.scope == tokens.scope


def test_escalation_attempt_does_not_burn_the_refresh_token(flow: Flow) -> None:
    tokens = flow.tokens()
    with pytest.raises(InvalidRequest):
        _refresh(flow, tokens.refresh_token, scope="patient/*.cruds")
    assert _refresh(flow, tokens.refresh_token).access_token


def test_refresh_token_of_another_client_is_refused_and_revoked(flow: Flow) -> None:
    flow.server.clients.register(
        "public", client_id="app2", scopes="patient/*.rs", redirect_uris=(REDIRECT,)
    )
    tokens = flow.tokens()
    with pytest.raises(InvalidRequest):
        _refresh(flow, tokens.refresh_token, client="app2")
    with pytest.raises(InvalidRequest):
        _refresh(flow, tokens.refresh_token)


def test_refresh_token_expires(flow: Flow, clock: FixedClock) -> None:
    tokens = flow.tokens(scope="patient/*.rs launch/patient online_access")
    clock.advance(8 * 3600)
    with pytest.raises(InvalidRequest):
        _refresh(flow, tokens.refresh_token)


def test_offline_refresh_token_outlives_the_access_token(flow: Flow, clock: FixedClock) -> None:
    tokens = flow.tokens()
    clock.advance(30 * 24 * 3600)
    with pytest.raises(Unauthorized):
        flow.server.issuer.validate(tokens.access_token)
    assert flow.server.issuer.validate(_refresh(flow, tokens.refresh_token).access_token)


def test_unknown_refresh_token(flow: Flow) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _refresh(flow, "nonsense")
    assert caught.value.code == "invalid_grant"
