"""Two server processes over one data directory (what ``--workers N`` runs): every SMART flow
may start at one and finish at the other, and a revocation at one is seen by the other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from fhir_server.auth.state import open_auth_server
from fhir_server.settings import Settings
from tests.support.server import ServerProcess, free_port, running_server
from tests.support.smart import (
    ASSERTION_TYPE,
    Pkce,
    authorize_url,
    browser_login,
    client_assertion,
    query_of,
)

pytestmark = pytest.mark.e2e
REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class Pair:
    one: ServerProcess
    two: ServerProcess
    backend_key: ECKey

    @property
    def token_url(self) -> str:
        """The token endpoint as the shared issuer names it (the ``aud`` of assertions)."""
        return f"{self.one.root_url}/auth/token"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    data_dir: Path = tmp_path_factory.mktemp("smart-workers")
    port = free_port()
    env = {"FHIR_SERVER_AUTH": "on", "FHIR_SERVER_BASE_URL": f"http://127.0.0.1:{port}/fhir"}
    auth = open_auth_server(
        Settings(data_dir=data_dir, auth="on", base_url=env["FHIR_SERVER_BASE_URL"])
    )
    auth.clients.register(
        "public",
        client_id="app",
        scopes="launch/patient patient/*.rs offline_access",
        redirect_uris=(REDIRECT,),
    )
    key = ECKey.generate_key("P-384", parameters={"kid": "backend-1"})
    auth.clients.register(
        "confidential-asymmetric",
        client_id="backend",
        scopes="system/*.rs",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    auth.users.register("pat", "pat-password-1", "Patient/p1", ("p1",))
    with (
        running_server(data_dir, port=port, env=env) as one,
        running_server(data_dir, env=env) as two,
    ):
        yield Pair(one, two, key)


def _code(pair: Pair, pkce: Pkce) -> str:
    """Authorize at server one, log in and consent at server two."""
    scope = "launch/patient patient/*.rs offline_access"
    url = authorize_url(pair.one.root_url, "app", REDIRECT, scope, pair.one.base_url, pkce)
    with httpx.Client() as browser:
        redirect = browser_login(browser, url, "pat", "pat-password-1", post_to=pair.two.root_url)
    return query_of(redirect)["code"]


def _redeem(server: ServerProcess, code: str, pkce: Pkce) -> httpx.Response:
    return httpx.post(
        f"{server.root_url}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": pkce.verifier,
            "redirect_uri": REDIRECT,
            "client_id": "app",
        },
    )


def _read(server: ServerProcess, token: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/Patient/p1", headers={"Authorization": f"Bearer {token}"})


def test_a_code_issued_by_one_is_redeemed_once_at_the_other(pair: Pair) -> None:
    pkce = Pkce()
    code = _code(pair, pkce)
    tokens: dict[str, Any] = _redeem(pair.two, code, pkce).json()
    assert tokens["patient"] == "p1"
    assert _read(pair.one, tokens["access_token"]).status_code == 404  # valid, p1 not stored
    replayed = _redeem(pair.one, code, pkce)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"


def test_a_token_revoked_at_one_is_refused_by_the_other_at_once(pair: Pair) -> None:
    pkce = Pkce()
    tokens = _redeem(pair.one, _code(pair, pkce), pkce).json()
    access = tokens["access_token"]
    assert _read(pair.two, access).status_code == 404
    revoked = httpx.post(
        f"{pair.one.root_url}/auth/revoke", data={"token": access, "client_id": "app"}
    )
    assert revoked.status_code == 200
    refused = _read(pair.two, access)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    refreshed = httpx.post(
        f"{pair.two.root_url}/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app",
        },
    )
    assert refreshed.status_code == 200  # revoking one access token keeps the grant
    rotated_away = httpx.post(
        f"{pair.one.root_url}/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app",
        },
    )
    assert rotated_away.json()["error"] == "invalid_grant"
    assert _read(pair.two, refreshed.json()["access_token"]).status_code == 401  # reuse revokes all


def test_an_assertion_jti_is_single_use_across_servers(pair: Pair) -> None:
    assertion = client_assertion(pair.backend_key, "backend", pair.token_url)
    form = {
        "grant_type": "client_credentials",
        "scope": "system/*.rs",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    first = httpx.post(f"{pair.one.root_url}/auth/token", data=form)
    assert first.status_code == 200, first.text
    replayed = httpx.post(f"{pair.two.root_url}/auth/token", data=form)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_client"
