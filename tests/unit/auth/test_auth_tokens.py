from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import pytest
from auth_fakes import FHIR_BASE, ISSUER, FixedClock

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization, LaunchContext
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.jose import PrivateKey, unverified_header
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.policy import Caller
from fhir_server.errors import Unauthorized

AUTHZ = Authorization(
    "sid-1",
    "app",
    "patient/Observation.rs openid",
    "alice",
    "Practitioner/prac1",
    LaunchContext("p1", "e1", ("Location/l1",)),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(server: SmartAuthServer, **overrides: Any) -> dict[str, Any]:
    _, claims = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    return {
        "iss": ISSUER,
        "aud": FHIR_BASE,
        "sub": claims.subject,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "jti": "jti-1",
        **overrides,
    }


def test_issued_token_validates_with_its_claims(server: SmartAuthServer) -> None:
    token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    claims = server.issuer.validate(token)
    assert claims.subject == "alice"
    assert claims.client_id == "app"
    assert claims.patient == "p1"
    assert claims.encounter == "e1"
    assert claims.fhir_context == ("Location/l1",)
    assert claims.fhir_user == f"{FHIR_BASE}/Practitioner/prac1"
    assert claims.expires_at - claims.issued_at == 300


def test_caller_from_bearer_header(server: SmartAuthServer) -> None:
    token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    caller = server.caller(f"Bearer {token}")
    assert caller == Caller(
        client_id="app",
        scopes=caller.scopes,
        patient_id="p1",
        fhir_user=f"{FHIR_BASE}/Practitioner/prac1",
        subject="alice",
        names=frozenset({"openid"}),
    )
    assert [str(s) for s in caller.scopes] == ["patient/Observation.rs"]


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer"])
def test_missing_bearer_token_is_401(server: SmartAuthServer, header: str | None) -> None:
    with pytest.raises(Unauthorized):
        server.caller(header)


def test_alg_none_is_rejected(server: SmartAuthServer) -> None:
    kid = server.keys.signing_key().kid
    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(server)).encode())}."
    with pytest.raises(Unauthorized, match="algorithm"):
        server.issuer.validate(token)


def test_hmac_with_the_public_key_as_secret_is_rejected(server: SmartAuthServer) -> None:
    key = server.keys.signing_key()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(server)).encode())}"
    )
    secret = json.dumps(key.public_jwk()).encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(Unauthorized):
        server.issuer.validate(f"{signing_input}.{_b64(signature)}")


def test_forged_signature_is_rejected(server: SmartAuthServer) -> None:
    genuine = server.keys.signing_key()
    forger = PrivateKey.generate("ES256")
    header = {"alg": "ES256", "typ": "at+jwt", "kid": genuine.kid}
    token = forger.sign(_claims(server), typ="at+jwt")
    forged_header = _b64(json.dumps(header).encode())
    token = ".".join([forged_header, *token.split(".")[1:]])
    with pytest.raises(Unauthorized, match="signature"):
        server.issuer.validate(token)


def test_tampered_payload_is_rejected(server: SmartAuthServer) -> None:
    token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    head, _, signature = token.split(".")
    payload = _b64(json.dumps(_claims(server, scope="patient/*.cruds")).encode())
    with pytest.raises(Unauthorized):
        server.issuer.validate(f"{head}.{payload}.{signature}")


def test_expired_token_is_rejected(server: SmartAuthServer, clock: FixedClock) -> None:
    token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    clock.advance(299)
    server.issuer.validate(token)
    clock.advance(1)
    with pytest.raises(Unauthorized, match="expired"):
        server.issuer.validate(token)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "https://other.example/fhir"}, "audience"),
        ({"aud": ["https://other.example/fhir"]}, "audience"),
        ({"iss": "https://evil.example/auth"}, "someone else"),
        ({"exp": "soon"}, "numbers"),
        ({"iat": 1_900_000_000}, "future"),
    ],
)
def test_wrong_claims_are_rejected(
    server: SmartAuthServer, overrides: dict[str, Any], message: str
) -> None:
    token = server.keys.signing_key().sign(_claims(server, **overrides), typ="at+jwt")
    with pytest.raises(Unauthorized, match=message):
        server.issuer.validate(token)


def test_audience_list_containing_us_is_accepted(server: SmartAuthServer) -> None:
    claims = _claims(server, aud=["https://other.example/fhir", FHIR_BASE])
    server.issuer.validate(server.keys.signing_key().sign(claims, typ="at+jwt"))


def test_id_token_is_not_an_access_token(server: SmartAuthServer) -> None:
    id_token = server.issuer.issue_id_token(AUTHZ, with_fhir_user=True)
    with pytest.raises(Unauthorized, match="not an access token"):
        server.issuer.validate(id_token)


def test_revoked_token_is_rejected(server: SmartAuthServer) -> None:
    token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    server.revoke({"token": token, "client_id": "app"}, None)
    with pytest.raises(Unauthorized, match="revoked"):
        server.issuer.validate(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "ünïcode.x.y"])
def test_garbage_is_rejected(server: SmartAuthServer, garbage: str) -> None:
    with pytest.raises(Unauthorized):
        server.issuer.validate(garbage)


def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped(
    server: SmartAuthServer, clock: FixedClock
) -> None:
    old_token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    old_kid = server.keys.signing_key().kid
    server.keys.rotate()
    new_token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    assert server.keys.signing_key().kid != old_kid
    server.issuer.validate(old_token)
    server.issuer.validate(new_token)
    assert {k["kid"] for k in server.jwks()["keys"]} == {old_kid, server.keys.signing_key().kid}
    clock.advance(300 + 61)
    assert [k["kid"] for k in server.jwks()["keys"]] == [server.keys.signing_key().kid]


def test_id_token_claims(server: SmartAuthServer) -> None:
    authz = Authorization(
        "sid", "app", "openid fhirUser", "alice", "Practitioner/prac1", nonce="n1"
    )
    token = server.issuer.issue_id_token(authz, with_fhir_user=True)
    verified = server.keys.public_keys().verify(token, ["ES256"])
    assert verified.claims["aud"] == "app"
    assert verified.claims["iss"] == ISSUER
    assert verified.claims["sub"] == "alice"
    assert verified.claims["nonce"] == "n1"
    assert verified.claims["fhirUser"] == f"{FHIR_BASE}/Practitioner/prac1"


def test_switching_the_algorithm_rotates_the_key_and_keeps_old_tokens_valid(
    server: SmartAuthServer, store: MemoryAuthStore, clock: FixedClock, config: AuthConfig
) -> None:
    old_token, _ = server.issuer.issue_access(AUTHZ, AUTHZ.scope)
    restarted = SmartAuthServer(
        replace(config, signing_alg="RS256"), store, clock=clock, hasher=PasswordHasher(log2_n=4)
    )
    new_token, _ = restarted.issuer.issue_access(AUTHZ, AUTHZ.scope)
    assert unverified_header(new_token)["alg"] == "RS256"
    assert restarted.issuer.validate(old_token).subject == "alice"
    assert restarted.issuer.validate(new_token).subject == "alice"
