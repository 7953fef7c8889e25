"""No side door: every FHIR (and ingest) route answers 401 without a valid token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from tests.api.conftest import Smart

PUBLIC = {"/fhir/metadata", "/fhir/.well-known/smart-configuration"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")
_VALUES = {"resource_type": "Patient", "id": "p1", "version_id": "1"}


def _endpoints(app: Any) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every endpoint of app.routes, included routers flattened."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods)
        for context in getattr(route, "effective_route_contexts", list)():
            yield context.path, set(context.methods or ())


def _guarded_routes(smart: Smart) -> list[tuple[str, str]]:
    found = []
    for route_path, methods in _endpoints(smart.http.app):
        if route_path in PUBLIC or not route_path.startswith(("/fhir", "/ingest")):
            continue
        path = _PARAM.sub(lambda m: _VALUES.get(m.group(1), "x"), route_path)
        found.extend((method, path) for method in sorted(methods))
    return found


def test_every_fhir_route_needs_a_token(smart: Smart) -> None:
    routes = _guarded_routes(smart)
    assert len(routes) > 15
    for method, path in routes:
        answer = smart.http.request(
            method,
            path,
            content=b"{}",
            headers={"Content-Type": "application/fhir+json"},
        )
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        if method != "HEAD":  # a HEAD answer has the headers of a GET and no body
            assert answer.json()["resourceType"] == "OperationOutcome"


def test_invalid_token_is_401_on_every_fhir_route(smart: Smart) -> None:
    for method, path in _guarded_routes(smart):
        answer = smart.http.request(
            method,
            path,
            content=b"{}",
            headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer nope"},
        )
        assert answer.status_code == 401, (method, path)


def test_metadata_and_discovery_are_public(smart: Smart) -> None:
    metadata = smart.http.get("/fhir/metadata").json()
    security = metadata["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["token"] == "http://testserver/auth/token"
    assert set(uris) == {"authorize", "token", "introspect", "revoke"}
    for path in ("/fhir/.well-known/smart-configuration", "/.well-known/smart-configuration"):
        config = smart.http.get(path).json()
        assert config["token_endpoint"] == "http://testserver/auth/token"
        assert config["code_challenge_methods_supported"] == ["S256"]
