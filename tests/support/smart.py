"""A SMART client's side of the flows, for API and e2e tests: PKCE, the HTML forms, assertions."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from fhir_server.auth.opaque import s256

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_SCOPE = re.compile(r'name="scope" value="([^"]+)"')


@dataclass
class Pkce:
    """A PKCE verifier and its S256 challenge."""

    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return s256(self.verifier)


def authorize_url(
    root: str, client_id: str, redirect_uri: str, scope: str, aud: str, pkce: Pkce, **extra: str
) -> str:
    """The URL an app sends the browser to."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "aud": aud,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{root}/auth/authorize?{urlencode(params)}"


def browser_login(
    browser: httpx.Client,
    url: str,
    username: str,
    password: str,
    *,
    patient: str | None = None,
    scopes: list[str] | None = None,
    post_to: str | None = None,
) -> str:
    """Fill in the login and consent pages; the redirect URL the server answers with.

    ``post_to``: the root URL the forms are posted to (default: the server of ``url``),
    another server process sharing the same auth state.
    """
    page = browser.get(url, follow_redirects=False)
    assert page.status_code == 200, page.text
    txn = _TXN.search(page.text)
    assert txn is not None, page.text
    action = f"{post_to or url.split('/auth/authorize')[0]}/auth/authorize"
    login = {"txn": txn.group(1), "action": "login", "username": username, "password": password}
    consent = browser.post(action, data=login)
    assert consent.status_code == 200, consent.text
    form: dict[str, Any] = {
        "txn": txn.group(1),
        "action": "approve",
        "scope": scopes if scopes is not None else _SCOPE.findall(consent.text),
    }
    if patient is not None:
        form["patient"] = patient
    done = browser.post(action, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    return done.headers["location"]


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a redirect URL."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def client_assertion(
    key: RSAKey | ECKey, client_id: str, token_url: str, *, jti: str | None = None
) -> str:
    """A private_key_jwt client assertion (RS384 for RSA keys, ES384 for EC P-384 keys)."""
    alg = "RS384" if isinstance(key, RSAKey) else "ES384"
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + 240,
        "jti": jti or secrets.token_hex(12),
    }
    return jwt.encode({"alg": alg, "typ": "JWT", "kid": key.kid}, claims, key, algorithms=[alg])
