from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from auth_fakes import REDIRECT, FixedClock

from fhir_server.auth.clients import ClientRegistry
from fhir_server.auth.file_store import FileAuthStore
from fhir_server.auth.jose import PrivateKey
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.users import UserDirectory
from fhir_server.errors import InvalidRequest, Unauthorized

HOSTS = frozenset({"keys.example"})


def _jwks() -> dict[str, Any]:
    return {"keys": [PrivateKey.generate("ES384").public_jwk()]}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_type": "robot"},
        {"redirect_uris": ("not a uri",)},
        {"redirect_uris": ("http://app.example/callback",)},
        {"redirect_uris": (f"{REDIRECT}#fragment",)},
        {"scopes": "patient/Nope.rs"},
        {"client_type": "confidential-asymmetric"},
        {"client_type": "confidential-asymmetric", "jwks": {"keys": [{"kty": "nope"}]}},
        {
            "client_type": "confidential-asymmetric",
            "jwks": {"keys": [PrivateKey.generate("ES384").to_jwk()]},
        },
        {
            "client_type": "confidential-asymmetric",
            "jwks": _jwks(),
            "jwks_uri": "https://keys.example/k",
        },
        {"client_type": "public", "jwks": _jwks()},
    ],
)
def test_invalid_registrations(kwargs: dict[str, Any]) -> None:
    registry = ClientRegistry(MemoryAuthStore(), HOSTS)
    arguments: dict[str, Any] = {"client_type": "public", "scopes": "patient/*.rs", **kwargs}
    with pytest.raises(InvalidRequest):
        registry.register(arguments.pop("client_type"), **arguments)


def test_registration_round_trip_and_duplicate_id() -> None:
    registry = ClientRegistry(MemoryAuthStore(), HOSTS)
    jwks = _jwks()
    registration = registry.register(
        "confidential-asymmetric", client_id="b", scopes="system/*.rs", jwks=jwks
    )
    assert registration.secret is None
    assert registry.get("b") == registration.client
    assert registry.get("b").jwks == jwks
    with pytest.raises(InvalidRequest):
        registry.register("public", client_id="b", scopes="")
    with pytest.raises(Unauthorized):
        registry.get("nobody")


def test_loopback_http_redirects_and_native_schemes_are_allowed() -> None:
    registry = ClientRegistry(MemoryAuthStore(), HOSTS)
    uris = ("http://localhost:8000/cb", "http://127.0.0.1/cb", "com.example.app:/callback")
    assert registry.register("public", scopes="", redirect_uris=uris).client.redirect_uris == uris


def test_generated_client_ids_are_unique() -> None:
    registry = ClientRegistry(MemoryAuthStore(), HOSTS)
    ids = {registry.register("public", scopes="").client.client_id for _ in range(20)}
    assert len(ids) == 20


def test_password_hash_round_trip() -> None:
    hasher = PasswordHasher(log2_n=4)
    encoded = hasher.hash("correct horse")
    assert encoded.startswith("scrypt$4$8$1$")
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("wrong horse", encoded)
    assert hasher.hash("correct horse") != encoded
    assert not hasher.verify("x", "bcrypt$whatever")
    assert not hasher.verify("x", "scrypt$4$8$1$not-base64$!!")


def test_default_password_cost_is_owasp_scrypt() -> None:
    assert PasswordHasher() == PasswordHasher(log2_n=17, r=8, p=1)


def test_users(tmp_path: Path) -> None:
    users = UserDirectory(MemoryAuthStore(), PasswordHasher(log2_n=4))
    user = users.register("dora", "dora-password", "Practitioner/d1", ("p1",))
    assert "dora-password" not in user.password_hash
    assert users.authenticate("dora", "dora-password") == user
    assert user.selectable_patients == ("p1",)
    assert not user.is_patient
    with pytest.raises(InvalidRequest):
        users.register("eve", "short", "Practitioner/e1")
    with pytest.raises(InvalidRequest):
        users.register("eve", "long-enough", "Observation/o1")
    patient = users.register("pia", "pia-password", "Patient/p7", ("p1", "p2"))
    assert patient.selectable_patients == ("p7",)
    assert patient.is_patient


def test_file_store_persists_atomically_and_privately(tmp_path: Path) -> None:
    path = tmp_path / "auth" / "auth.json"
    store = FileAuthStore(path)
    store.put("clients", "a", {"x": 1})
    store.put("clients", "b", {"x": 2})
    assert store.pop("clients", "b") == {"x": 2}
    assert store.pop("clients", "b") is None
    assert json.loads(path.read_text()) == {"clients": {"a": {"x": 1}}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth.json", "auth.json.lock"]
    assert dict(FileAuthStore(path).items("clients")) == {"a": {"x": 1}}


def test_file_store_rejects_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        FileAuthStore(path)


def test_signing_key_survives_a_restart(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "auth.json"
    first = KeyRing(FileAuthStore(path), clock, "ES256", 400).signing_key()
    second = KeyRing(FileAuthStore(path), clock, "ES256", 400).signing_key()
    assert first.kid == second.kid


def test_memory_store_returns_copies() -> None:
    store = MemoryAuthStore()
    document: dict[str, Any] = {"list": [1]}
    store.put("c", "k", document)
    document["list"].append(2)
    fetched = store.get("c", "k")
    assert fetched == {"list": [1]}
    assert fetched is not None
    fetched["list"].append(3)
    assert store.get("c", "k") == {"list": [1]}
