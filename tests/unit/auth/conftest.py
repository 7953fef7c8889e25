"""Fixtures for the auth unit tests: a fixed clock, a composed server, registered parties."""

from __future__ import annotations

import pytest
from auth_fakes import APP_SCOPES, FHIR_BASE, ISSUER, REDIRECT, FakeFetcher, FixedClock, Flow

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
def config() -> AuthConfig:
    return AuthConfig(
        fhir_base_url=FHIR_BASE,
        issuer=ISSUER,
        signing_alg="ES256",
        jwks_hosts=frozenset({"keys.example"}),
        smart_style_url="https://ehr.example/style.json",
    )


@pytest.fixture
def store() -> MemoryAuthStore:
    return MemoryAuthStore()


@pytest.fixture
def server(
    config: AuthConfig, store: MemoryAuthStore, clock: FixedClock, fetcher: FakeFetcher
) -> SmartAuthServer:
    server = SmartAuthServer(
        config, store, clock=clock, fetcher=fetcher, hasher=PasswordHasher(log2_n=4)
    )
    server.clients.register(
        "public", client_id="app", scopes=APP_SCOPES, redirect_uris=(REDIRECT,), name="App"
    )
    server.users.register("alice", "alice-password", "Practitioner/prac1", ("p1", "p2"))
    server.users.register("bob", "bob-password", "Practitioner/prac2", ("p1",))
    server.users.register("pat", "pat-password", "Patient/p1")
    return server


@pytest.fixture
def flow(server: SmartAuthServer) -> Flow:
    return Flow(server)
