"""The wiring around the policy: the guard hides nothing unguarded; auth off only on loopback."""

from __future__ import annotations

import inspect

import pytest

from fhir_server.auth.bind import derived_base_url, is_loopback
from fhir_server.auth.guard import GuardedService
from fhir_server.auth.policy import Caller
from fhir_server.cli import main
from fhir_server.core.resources import ResourceService


def test_guard_overrides_every_public_interaction_of_the_service() -> None:
    public = {
        name
        for name, _ in inspect.getmembers(ResourceService, callable)
        if not name.startswith("_")
    }
    assert public - set(vars(GuardedService)) == set()


def test_guard_exposes_no_store() -> None:
    guarded = GuardedService(object.__new__(ResourceService), Caller())
    with pytest.raises(AttributeError):
        _ = guarded.store


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_derived_base_url_brackets_ipv6() -> None:
    assert derived_base_url("::1", 8080) == "http://[::1]:8080/fhir"


def test_serve_refuses_auth_off_on_a_public_bind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FHIR_SERVER_AUTH", "off")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err
