"""The read/vread fast path answers exactly as the FastAPI routes do.

Every request is sent to two applications over one store: ``create_app`` as served, and the
same application without ``FastReadMiddleware``. Status, header list (names, values, order)
and body must be identical, and the fast path must have served what it claims to serve.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from fhir_server.api import fastread
from fhir_server.api.fastread import FastReadMiddleware, Target, instance_read
from fhir_server.api.routes import instance
from fhir_server.app import create_app
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.memory_store import MemoryAuthStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.state import auth_config
from fhir_server.core.ports import ResourceStore
from fhir_server.settings import Settings
from tests.api.conftest import SMART_BASE, Smart
from tests.factories import BACKENDS, make_settings, open_store


def _routed(app: FastAPI) -> FastAPI:
    """``app`` without the fast path: every read goes through the router."""
    fast: object = FastReadMiddleware
    app.user_middleware = [m for m in app.user_middleware if m.cls is not fast]
    return app


@dataclass
class Pair:
    """The served application and the routed one, over one store."""

    fast: TestClient
    slow: TestClient
    served: list[Target] = field(default_factory=list)

    def same(self, method: str, path: str, headers: dict[str, str] | None = None) -> bool:
        """Send to both, assert identical answers; True when the fast path answered."""
        mine, theirs, served = self.send(method, path, headers)
        assert _answer(mine) == _answer(theirs), f"{method} {path}"
        return served

    def send(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, httpx.Response, bool]:
        """Both answers, and whether the fast path gave the first."""
        before = len(self.served)
        mine = self.fast.request(method, path, headers=headers, follow_redirects=False)
        theirs = self.slow.request(method, path, headers=headers, follow_redirects=False)
        return mine, theirs, len(self.served) > before


def _answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return response.status_code, response.headers.raw, response.content


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[Target]:
    """The targets the fast path answered."""
    served: list[Target] = []
    real = fastread.answer

    def answer(request: Any, target: Target) -> Any:
        served.append(target)
        return real(request, target)

    monkeypatch.setattr(fastread, "answer", answer)
    return served


def _pair(settings: Settings, store: ResourceStore, served: list[Target], **kw: Any) -> Pair:
    fast = TestClient(create_app(settings, store, **kw), base_url="http://testserver")
    slow = TestClient(_routed(create_app(settings, store, **kw)), base_url="http://testserver")
    return Pair(fast, slow, served)


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path, spy: list[Target]) -> Iterator[Pair]:
    """Auth off, on each backend (SQLite reads inline, MongoDB in the thread pool)."""
    store = open_store(request.param, tmp_path)
    pair = _pair(make_settings(tmp_path, auth="off"), store, spy)
    with pair.fast, pair.slow:
        http = pair.fast
        for value in (1, 2, 3):
            http.put("/fhir/Observation/o1", json=_obs("o1", "p1", value)).raise_for_status()
        http.put("/fhir/Observation/gone", json=_obs("gone", "p1")).raise_for_status()
        http.delete("/fhir/Observation/gone").raise_for_status()
        yield pair


def _obs(id: str, subject: str, value: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
        "valueQuantity": {"value": value},
    }


SERVED = [
    "/fhir/Observation/o1",
    "/fhir/Observation/o1/_history/1",
    "/fhir/Observation/o1/_history/3",
    "/fhir/Observation/o1/_history/9",
    "/fhir/Observation/gone",
    "/fhir/Observation/gone/_history/1",
    "/fhir/Observation/gone/_history/2",
    "/fhir/Observation/missing",
    "/fhir/Observation/missing/_history/1",
    "/fhir/Nonsense/o1",
    "/fhir/Nonsense/o1/_history/1",
    "/fhir/Observation/o1?_pretty=true",
    "/fhir/Observation/o1?_summary=true",
    "/fhir/Observation/o1?_elements=status,valueQuantity",
    "/fhir/Observation/o1/_history/2?_summary=data&_pretty=true",
    "/fhir/Observation/o1?_summary=bogus",
    "/fhir/Observation/o1?_format=json",
    "/fhir/Observation/o1?_count=3",
]
ROUTED = [
    "/fhir/Observation/bad$id",
    "/fhir/Observation/" + "x" * 65,
    "/fhir/Observation/o1/_history/x",
    "/fhir/Observation/o1/_history",
    "/fhir/Observation/_history",
    "/fhir/Observation/o1/",
    "/fhir/Observation/o1?_format=xml",
    "/fhir/.well-known/smart-configuration",
    "/fhir/Patient/p1/Observation",
]


@pytest.mark.parametrize("path", SERVED)
def test_fast_path_answers_as_the_route(pair: Pair, path: str) -> None:
    assert pair.same("GET", path)


@pytest.mark.parametrize("path", ["/fhir/Observation/o1", "/fhir/Observation/o1/_history/1"])
def test_head_answers_as_the_route(pair: Pair, path: str) -> None:
    assert pair.same("HEAD", path)


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": 'W/"1"'},
        {"If-None-Match": 'W/"7"'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
        {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
    ],
)
def test_conditional_read_answers_as_the_route(pair: Pair, headers: dict[str, str]) -> None:
    assert pair.same("GET", "/fhir/Observation/o1", headers)


@pytest.mark.parametrize("path", ROUTED)
def test_other_paths_go_to_the_router(pair: Pair, path: str) -> None:
    mine, theirs, served = pair.send("GET", path)
    assert not served
    assert mine.status_code == theirs.status_code  # history Bundles differ in id and time


def test_not_acceptable_is_answered_before_the_fast_path(pair: Pair) -> None:
    assert not pair.same("GET", "/fhir/Observation/o1", {"Accept": "application/fhir+xml"})
    assert pair.same("GET", "/fhir/Observation/o1", {"Accept": "application/fhir+json"})


@pytest.fixture
def smart_pair(tmp_path: Path, spy: list[Target]) -> Iterator[tuple[Pair, Smart]]:
    """Auth on: patients p1, p2, an Observation of each, a deleted Observation of each."""
    settings = make_settings(tmp_path, base_url=SMART_BASE, auth="on")
    auth = SmartAuthServer(
        auth_config(settings), MemoryAuthStore(), hasher=PasswordHasher(log2_n=4)
    )
    pair = _pair(settings, open_store("sqlite", tmp_path), spy, auth_server=auth)
    with ExitStack() as stack:
        stack.enter_context(pair.fast)
        stack.enter_context(pair.slow)
        smart = Smart(pair.fast, auth)
        system = smart.as_bearer(smart.system_token())
        for p in ("p1", "p2"):
            body = {"resourceType": "Patient", "id": p}
            pair.fast.put(f"/fhir/Patient/{p}", json=body, headers=system).raise_for_status()
        for id, subject in (("mine", "p1"), ("theirs", "p2"), ("mine-gone", "p1"), ("gone", "p2")):
            path = f"/fhir/Observation/{id}"
            pair.fast.put(path, json=_obs(id, subject), headers=system).raise_for_status()
        for id in ("mine-gone", "gone"):
            pair.fast.delete(f"/fhir/Observation/{id}", headers=system).raise_for_status()
        yield pair, smart


AUTH_PATHS = [
    "/fhir/Observation/mine",
    "/fhir/Observation/theirs",
    "/fhir/Observation/mine-gone",
    "/fhir/Observation/gone",
    "/fhir/Observation/missing",
    "/fhir/Observation/mine/_history/1",
    "/fhir/Observation/theirs/_history/1",
    "/fhir/Observation/mine-gone/_history/2",
    "/fhir/Observation/gone/_history/2",
    "/fhir/Patient/p1",
    "/fhir/Nonsense/mine",
]


def test_with_auth_every_caller_gets_the_route_answer(smart_pair: tuple[Pair, Smart]) -> None:
    pair, smart = smart_pair
    callers: dict[str, dict[str, str]] = {
        "no token": {},
        "not bearer": {"Authorization": "Basic eDp5"},
        "bad token": smart.as_bearer("not-a-token"),
        "system": smart.as_bearer(smart.system_token("system/*.rs")),
        "patients only": smart.as_bearer(smart.system_token("system/Patient.rs")),
        "patient p1": smart.as_bearer(smart.app_tokens()["access_token"]),
    }
    statuses: set[int] = set()
    for headers in callers.values():
        for path in AUTH_PATHS:
            assert pair.same("GET", path, headers)
            statuses.add(pair.fast.get(path, headers=headers).status_code)
    assert statuses == {200, 401, 403, 404, 410}


def _recording(app: ASGIApp, endpoints: list[Any]) -> ASGIApp:
    async def record(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        endpoints.append(scope.get("endpoint"))

    return record


def _example(template: str) -> str:
    """A concrete path for a route template, with values the fast path would accept."""
    values = ("Observation", "o1", "_history", "2", "x")
    parts = template.removeprefix("/fhir/").split("/")
    return "/fhir/" + "/".join(
        values[min(i, 4)] if p[:1] == "{" else p for i, p in enumerate(parts)
    )


def test_fast_path_takes_only_what_the_router_sends_to_read_and_vread(tmp_path: Path) -> None:
    app = _routed(create_app(make_settings(tmp_path, auth="off"), open_store("sqlite", tmp_path)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # FastAPI: duplicate operation ids
        paths = app.openapi()["paths"]
    templates = [t for t, ops in paths.items() if "get" in ops and t.startswith("/fhir/")]
    endpoints: list[Any] = []
    claimed = 0
    with TestClient(_recording(app, endpoints)) as http:
        for template in templates:
            path = _example(template)
            target = instance_read(path.removeprefix("/fhir/"))
            http.get(path)
            if target is not None:
                claimed += 1
                assert endpoints[-1] in (instance.read, instance.vread), template
    assert claimed == 2


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("Observation/a-1.b", ("Observation", "a-1.b", None)),
        ("Observation/a/_history/12", ("Observation", "a", "12")),
        ("Observation/_history", None),
        ("Observation/a/_history", None),
        ("Observation/a/_history/1x", None),
        ("Observation/a/_history/\u00b2", None),
        ("Observation/$validate", None),
        ("Observation/a b", None),
        ("Observation/" + "a" * 65, None),
        (".well-known/smart-configuration", None),
        ("Observation/", None),
        ("Observation", None),
        ("Patient/p1/Observation", None),
        ("Observation/a/_history/1/x", None),
    ],
)
def test_instance_read_parses_only_plain_reads(path: str, target: Target | None) -> None:
    assert instance_read(path) == target
