from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_server.app import create_app
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.state import auth_config
from tests.factories import BACKENDS, make_settings, open_store
from tests.support.smart import Pkce, authorize_url, browser_login, query_of


@pytest.fixture(params=BACKENDS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    store = open_store(request.param, tmp_path)
    app = create_app(make_settings(tmp_path, max_body_bytes=200_000, auth="off"), store)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


SMART_BASE = "http://testserver/fhir"
APP_REDIRECT = "http://127.0.0.1:9/callback"


class Smart:
    """An app with auth on, a seeding backend client and an app registered on it."""

    def __init__(self, http: TestClient, auth: SmartAuthServer) -> None:
        self.http, self.auth = http, auth
        registration = auth.clients.register(
            "confidential-symmetric", client_id="loader", scopes="system/*.cruds admin/launch"
        )
        assert registration.secret is not None
        self.loader_secret = registration.secret
        auth.clients.register(
            "public",
            client_id="app",
            scopes="openid fhirUser launch launch/patient offline_access patient/*.cruds user/*.rs",
            redirect_uris=(APP_REDIRECT,),
            name="Test app",
        )
        auth.users.register("pat", "pat-password", "Patient/p1", ("p1",))
        auth.users.register("doc", "doc-password", "Practitioner/d1", ("p1", "p2"))

    def system_token(self, scope: str = "system/*.cruds") -> str:
        answer = self.http.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=("loader", self.loader_secret),
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def app_tokens(
        self,
        scope: str = "launch/patient patient/*.rs offline_access",
        user: str = "pat",
        patient: str | None = None,
    ) -> dict[str, Any]:
        pkce = Pkce()
        url = authorize_url("http://testserver", "app", APP_REDIRECT, scope, SMART_BASE, pkce)
        redirect = browser_login(self.http, url, user, f"{user}-password", patient=patient)
        answer = self.http.post(
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": query_of(redirect)["code"],
                "code_verifier": pkce.verifier,
                "redirect_uri": APP_REDIRECT,
                "client_id": "app",
            },
        )
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    def as_bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def smart(tmp_path: Path) -> Iterator[Smart]:
    settings = make_settings(tmp_path, base_url=SMART_BASE, auth="on")
    auth = SmartAuthServer(
        auth_config(settings), MemoryAuthStore(), hasher=PasswordHasher(log2_n=4)
    )
    app = create_app(settings, open_store("sqlite", tmp_path), auth_server=auth)
    with TestClient(app, base_url="http://testserver") as http:
        yield Smart(http, auth)
