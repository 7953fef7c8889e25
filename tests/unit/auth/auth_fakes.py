"""Test doubles and helpers for the auth unit tests (imported by conftest and the tests)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.opaque import s256
from fhir_server.auth.responses import TokenResponse

FHIR_BASE = "https://ehr.example/fhir"
ISSUER = "https://ehr.example/auth"
REDIRECT = "https://app.example/callback"
APP_SCOPES = (
    "openid fhirUser profile launch launch/patient launch/encounter offline_access "
    "online_access patient/*.cruds user/*.cruds"
)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeFetcher:
    """Serves JWKS documents by URL and counts fetches."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls.append(url)
        if url not in self.documents:
            raise OSError(f"404 {url}")
        return self.documents[url]


@dataclass
class Flow:
    """Drives the authorization code flow the way a browser and an app would."""

    server: SmartAuthServer
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": "app",
            "redirect_uri": REDIRECT,
            "scope": "openid fhirUser launch/patient patient/Observation.rs offline_access",
            "state": "st4te",
            "aud": FHIR_BASE,
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def code(
        self,
        user: str = "alice",
        patient: str | None = "p1",
        scopes: list[str] | None = None,
        **overrides: str | None,
    ) -> str:
        decision = self.server.authorize_request(self.params(**overrides))
        assert decision.pending is not None, decision.redirect_to
        txn = decision.pending.txn
        self.server.login(txn, user, f"{user}-password")
        redirect = self.server.issue_code(txn, scopes=scopes, patient=patient)
        query = parse_qs(urlsplit(redirect).query)
        assert query["state"] == ["st4te"]
        return query["code"][0]

    def exchange(self, code: str, **overrides: str | None) -> TokenResponse:
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": self.verifier,
            "redirect_uri": REDIRECT,
            "client_id": "app",
            **overrides,
        }
        return self.server.token({k: v for k, v in form.items() if v is not None}, None)

    def tokens(
        self,
        user: str = "alice",
        patient: str | None = "p1",
        scopes: list[str] | None = None,
        **overrides: str | None,
    ) -> TokenResponse:
        return self.exchange(self.code(user, patient, scopes, **overrides))
