"""SMART Backend Services: client_credentials with private_key_jwt assertions.

The assertions are built here with ``cryptography`` alone (not with the server's JOSE
library), as an independent client would build them.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from auth_fakes import FakeFetcher, FixedClock
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fhir_server.auth.client_auth import ASSERTION_TYPE
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.policy import authorize
from fhir_server.errors import InvalidRequest, Unauthorized

TOKEN_URL = "https://ehr.example/auth/token"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, size: int) -> str:
    return _b64(value.to_bytes(size, "big"))


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def _public_jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        size = (numbers.n.bit_length() + 7) // 8
        return {"kty": "RSA", "kid": kid, "n": _int(numbers.n, size), "e": _int(numbers.e, 3)}
    point = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-384", "kid": kid, "x": _int(point.x, 48), "y": _int(point.y, 48)}


def _sign(key: PrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA384())
    else:
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
        signature = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    return f"{signing_input}.{_b64(signature)}"


def _assertion(
    key: PrivateKey, clock: FixedClock, *, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    alg = "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"
    body = {
        "iss": "backend",
        "sub": "backend",
        "aud": TOKEN_URL,
        "exp": int(clock()) + 300,
        "jti": secrets.token_hex(8),
        **claims,
    }
    return _sign(key, {"alg": alg, "kid": "k1", "typ": "JWT", **(header or {})}, body)


def _register(server: SmartAuthServer, key: PrivateKey, **kwargs: Any) -> None:
    keys = kwargs.pop("jwks", {"keys": [_public_jwk(key, "k1")]})
    server.clients.register(
        "confidential-asymmetric",
        client_id="backend",
        scopes="system/Observation.rs system/Patient.r",
        jwks=None if "jwks_uri" in kwargs else keys,
        **kwargs,
    )


@pytest.mark.parametrize("make_key", [_rsa, _ec], ids=["RS384", "ES384"])
def test_client_credentials_with_assertion(
    server: SmartAuthServer, clock: FixedClock, make_key: Any
) -> None:
    key = make_key()
    _register(server, key)
    tokens = server.client_credentials(
        ASSERTION_TYPE, _assertion(key, clock), "system/*.rs system/Patient.cruds launch openid"
    )
    assert tokens.scope == "system/Observation.rs system/Patient.r"
    assert tokens.refresh_token is None
    assert tokens.id_token is None
    assert set(tokens.to_json()) == {"access_token", "token_type", "expires_in", "scope"}
    caller = server.caller(f"Bearer {tokens.access_token}")
    authorize(caller, "search", "Observation")
    assert caller.client_id == "backend"
    assert caller.subject == "backend"


def test_token_endpoint_form_for_backend_services(
    server: SmartAuthServer, clock: FixedClock
) -> None:
    key = _ec()
    _register(server, key)
    form = {
        "grant_type": "client_credentials",
        "scope": "system/Observation.rs",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(key, clock),
    }
    assert server.token(form, None).scope == "system/Observation.rs"


def test_jti_replay_is_refused(server: SmartAuthServer, clock: FixedClock) -> None:
    key = _ec()
    _register(server, key)
    assertion = _assertion(key, clock)
    server.client_credentials(ASSERTION_TYPE, assertion, "system/Observation.rs")
    with pytest.raises(Unauthorized, match="jti"):
        server.client_credentials(ASSERTION_TYPE, assertion, "system/Observation.rs")


@pytest.mark.parametrize(
    ("claims", "header", "message"),
    [
        ({"aud": "https://ehr.example/auth/authorize"}, {}, "aud"),
        ({"iss": "someone-else"}, {}, "client"),
        ({"sub": "someone-else"}, {}, "iss and sub"),
        ({"exp": 1_700_000_000 + 600}, {}, "five minutes"),
        ({"exp": 1_700_000_000 - 1}, {}, "expired"),
        ({"jti": None}, {}, "jti"),
        ({"nbf": 1_700_000_000 + 120}, {}, "not valid yet"),
        ({}, {"alg": "RS256"}, "algorithm"),
        ({}, {"kid": "unknown"}, "signature"),
        ({}, {"kid": None}, "kid"),
        ({}, {"jku": "https://keys.example/other.json"}, "jwks"),
    ],
)
def test_bad_assertions_are_invalid_client(
    server: SmartAuthServer,
    clock: FixedClock,
    claims: dict[str, Any],
    header: dict[str, Any],
    message: str,
) -> None:
    key = _ec()
    _register(server, key)
    assertion = _assertion(key, clock, header=header, **claims)
    with pytest.raises(Unauthorized) as caught:
        server.client_credentials(ASSERTION_TYPE, assertion, "system/Observation.rs")
    assert caught.value.code == "invalid_client"
    assert message in caught.value.diagnostics


def test_assertion_signed_by_another_key_is_refused(
    server: SmartAuthServer, clock: FixedClock
) -> None:
    _register(server, _ec())
    with pytest.raises(Unauthorized, match="signature"):
        server.client_credentials(ASSERTION_TYPE, _assertion(_ec(), clock), "system/Observation.rs")


def test_wrong_assertion_type_is_refused(server: SmartAuthServer, clock: FixedClock) -> None:
    key = _ec()
    _register(server, key)
    with pytest.raises(Unauthorized):
        server.client_credentials("urn:other", _assertion(key, clock), "system/Observation.rs")


def test_no_system_scope_is_invalid_scope(server: SmartAuthServer, clock: FixedClock) -> None:
    key = _ec()
    _register(server, key)
    with pytest.raises(InvalidRequest) as caught:
        server.client_credentials(
            ASSERTION_TYPE, _assertion(key, clock), "patient/*.rs system/Condition.rs"
        )
    assert caught.value.code == "invalid_scope"


def test_public_clients_cannot_use_client_credentials(server: SmartAuthServer) -> None:
    with pytest.raises(InvalidRequest) as caught:
        server.token(
            {"grant_type": "client_credentials", "client_id": "app", "scope": "system/*.rs"}, None
        )
    assert caught.value.code == "unauthorized_client"


def test_jwks_uri_is_fetched_from_an_allowed_host_and_cached(
    server: SmartAuthServer, clock: FixedClock, fetcher: FakeFetcher
) -> None:
    key = _rsa()
    url = "https://keys.example/backend.json"
    fetcher.documents[url] = {"keys": [_public_jwk(key, "k1")]}
    _register(server, key, jwks_uri=url)
    for _ in range(2):
        server.client_credentials(
            ASSERTION_TYPE, _assertion(key, clock, header={"jku": url}), "system/Observation.rs"
        )
    assert fetcher.calls == [url]


def test_rotated_client_key_is_fetched_again(
    server: SmartAuthServer, clock: FixedClock, fetcher: FakeFetcher
) -> None:
    old, new = _ec(), _ec()
    url = "https://keys.example/backend.json"
    fetcher.documents[url] = {"keys": [_public_jwk(old, "k1")]}
    _register(server, old, jwks_uri=url)
    server.client_credentials(ASSERTION_TYPE, _assertion(old, clock), "system/Observation.rs")
    fetcher.documents[url] = {"keys": [_public_jwk(new, "k2")]}
    clock.advance(11)
    assertion = _assertion(new, clock, header={"kid": "k2"})
    server.client_credentials(ASSERTION_TYPE, assertion, "system/Observation.rs")
    assert fetcher.calls == [url, url]


def test_unknown_kid_does_not_refetch_within_the_minimum_interval(
    server: SmartAuthServer, clock: FixedClock, fetcher: FakeFetcher
) -> None:
    key = _ec()
    url = "https://keys.example/backend.json"
    fetcher.documents[url] = {"keys": [_public_jwk(key, "k1")]}
    _register(server, key, jwks_uri=url)
    server.client_credentials(ASSERTION_TYPE, _assertion(key, clock), "system/Observation.rs")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            server.client_credentials(
                ASSERTION_TYPE,
                _assertion(key, clock, header={"kid": "forged"}),
                "system/Observation.rs",
            )
    assert fetcher.calls == [url]


def test_unreachable_jwks_is_invalid_client(server: SmartAuthServer, clock: FixedClock) -> None:
    key = _ec()
    _register(server, key, jwks_uri="https://keys.example/missing.json")
    with pytest.raises(Unauthorized, match="cannot fetch"):
        server.client_credentials(ASSERTION_TYPE, _assertion(key, clock), "system/Observation.rs")


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/keys.json", "http://keys.example/keys.json", "ftp://keys.example/k"],
)
def test_jwks_uri_outside_the_allowlist_cannot_be_registered(
    server: SmartAuthServer, url: str
) -> None:
    with pytest.raises(InvalidRequest):
        _register(server, _ec(), jwks_uri=url)
