"""SMART flows against a real server process, with real clients.

Clients and users are registered with ``fhir-server auth ...`` (subprocess); the standalone
launch is driven by the ``fhirclient`` package (the HTML forms filled in with httpx), the
backend client signs its own assertion with joserfc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirclient import client as fhirclient
from fhirclient.models.observation import Observation
from joserfc.jwk import RSAKey

from tests.support.server import ServerProcess, free_port, running_server
from tests.support.smart import (
    ASSERTION_TYPE,
    Pkce,
    authorize_url,
    browser_login,
    client_assertion,
    query_of,
)

pytestmark = pytest.mark.e2e
REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class Deployment:
    server: ServerProcess
    loader_secret: str
    backend_key: RSAKey

    @property
    def token_url(self) -> str:
        return f"{self.server.root_url}/auth/token"

    def system_token(self, scope: str) -> str:
        answer = httpx.post(
            self.token_url,
            data={"grant_type": "client_credentials", "scope": scope},
            auth=("loader", self.loader_secret),
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "fhir_server.cli", "auth", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir: Path = tmp_path_factory.mktemp("smart")
    port = free_port()
    env = {
        **os.environ,
        "FHIR_SERVER_DATA_DIR": str(data_dir),
        "FHIR_SERVER_AUTH": "on",
        "FHIR_SERVER_BASE_URL": f"http://127.0.0.1:{port}/fhir",
    }
    loader = _cli(
        env,
        "register-client",
        "--type",
        "confidential-symmetric",
        "--client-id",
        "loader",
        "--scope",
        "system/*.cruds admin/launch",
    )
    _cli(
        env,
        "register-client",
        "--type",
        "public",
        "--client-id",
        "app",
        "--name",
        "e2e app",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "openid fhirUser launch launch/patient offline_access patient/*.rs",
    )
    key = RSAKey.generate_key(2048, parameters={"kid": "backend-1"})
    jwks = data_dir / "backend-jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    _cli(
        env,
        "register-client",
        "--type",
        "confidential-asymmetric",
        "--client-id",
        "backend",
        "--scope",
        "system/Observation.rs",
        "--jwks-file",
        str(jwks),
    )
    _cli(
        env,
        "register-user",
        "pat",
        "--fhir-user",
        "Patient/p1",
        "--patient",
        "p1",
        "--password-stdin",
        stdin="pat-password-1\n",
    )
    server_env = {k: env[k] for k in ("FHIR_SERVER_AUTH", "FHIR_SERVER_BASE_URL")}
    with running_server(data_dir, port=port, env=server_env) as server:
        deployment = Deployment(server, loader["client_secret"], key)
        headers = {"Authorization": f"Bearer {deployment.system_token('system/*.cruds')}"}
        for resource in _seed():
            url = f"{server.base_url}/{resource['resourceType']}/{resource['id']}"
            assert httpx.put(url, json=resource, headers=headers).status_code == 201
        yield deployment


def _seed() -> list[dict[str, Any]]:
    patients = [{"resourceType": "Patient", "id": p} for p in ("p1", "p2")]
    observations = [
        {
            "resourceType": "Observation",
            "id": f"o-{p}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/{p}"},
        }
        for p in ("p1", "p2")
    ]
    return patients + observations


def test_fhirclient_standalone_launch_reads_only_its_patients_observations(
    deployment: Deployment,
) -> None:
    smart = fhirclient.FHIRClient(
        settings={
            "app_id": "app",
            "api_base": deployment.server.base_url,
            "redirect_uri": REDIRECT,
            "scope": "launch/patient patient/*.rs openid fhirUser offline_access",
        }
    )
    with httpx.Client() as browser:
        callback = browser_login(browser, smart.authorize_url, "pat", "pat-password-1")
    smart.handle_callback(callback)
    assert smart.ready
    assert smart.patient_id == "p1"
    found = list(Observation.where({}).perform_resources_iter(smart.server))
    assert [o.id for o in found] == ["o-p1"]
    with pytest.raises(Exception, match="404"):  # hidden: as if it did not exist
        Observation.read("o-p2", smart.server)


def test_backend_service_signs_its_own_assertion(deployment: Deployment) -> None:
    assertion = client_assertion(deployment.backend_key, "backend", deployment.token_url)
    answer = httpx.post(
        deployment.token_url,
        data={
            "grant_type": "client_credentials",
            "scope": "system/Observation.rs system/Patient.rs",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "system/Observation.rs"
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    bundle = httpx.get(f"{deployment.server.base_url}/Observation", headers=headers).json()
    assert bundle["total"] == 2
    assert httpx.get(f"{deployment.server.base_url}/Patient", headers=headers).status_code == 403


def _app_tokens(deployment: Deployment, scope: str, **extra: str) -> dict[str, Any]:
    pkce = Pkce()
    root = deployment.server.root_url
    url = authorize_url(root, "app", REDIRECT, scope, deployment.server.base_url, pkce, **extra)
    with httpx.Client() as browser:
        code = query_of(browser_login(browser, url, "pat", "pat-password-1"))["code"]
    answer = httpx.post(
        deployment.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": pkce.verifier,
            "redirect_uri": REDIRECT,
            "client_id": "app",
        },
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def test_ehr_launch_from_the_cli_and_from_the_admin_endpoint(deployment: Deployment) -> None:
    env = {
        **os.environ,
        "FHIR_SERVER_DATA_DIR": str(deployment.server.log_path.parent),
        "FHIR_SERVER_BASE_URL": deployment.server.base_url,
    }
    launch = _cli(env, "create-launch", "--patient", "p1")["launch"]
    tokens = _app_tokens(deployment, "launch patient/Observation.rs", launch=launch)
    assert tokens["patient"] == "p1"
    admin = {"Authorization": f"Bearer {deployment.system_token('admin/launch')}"}
    created = httpx.post(
        f"{deployment.server.root_url}/auth/launch", data={"patient": "p1"}, headers=admin
    )
    assert created.status_code == 201
    again = _app_tokens(
        deployment, "launch patient/Observation.rs", launch=created.json()["launch"]
    )
    assert again["patient"] == "p1"


def test_refresh_introspection_and_revocation(deployment: Deployment) -> None:
    tokens = _app_tokens(deployment, "launch/patient patient/Observation.rs offline_access")
    refreshed = httpx.post(
        deployment.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app",
        },
    ).json()
    access = refreshed["access_token"]
    basic = ("loader", deployment.loader_secret)
    introspect = f"{deployment.server.root_url}/auth/introspect"
    described = httpx.post(introspect, data={"token": access}, auth=basic).json()
    assert described["active"] is True
    assert described["patient"] == "p1"
    revoke = httpx.post(
        f"{deployment.server.root_url}/auth/revoke",
        data={"token": access, "client_id": "app"},
    )
    assert revoke.status_code == 200
    assert httpx.post(introspect, data={"token": access}, auth=basic).json() == {"active": False}
    read = httpx.get(
        f"{deployment.server.base_url}/Observation/o-p1",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert read.status_code == 401
