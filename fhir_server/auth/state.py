"""Open the authorization server over its state directory, as configured by ``Settings``.

The server (``create_app``, in every worker process) and the ``fhir-server auth`` commands
all call ``open_auth_server``, so they act on the same state: ``<auth_dir>/auth.json``
(clients, users, keys, refresh tokens; see ``file_store``) and ``<auth_dir>/state.db``
(pending authorizations, codes, launches, ``jti`` values, revocations; see ``sqlite_store``),
both mode 0600.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.file_store import FileAuthStore
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.sqlite_store import SqliteExpiringStore
from fhir_server.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:8080/fhir"
STATE_FILE = "auth.json"
SHARED_STATE_FILE = "state.db"


def fhir_base_url(settings: Settings) -> str:
    """The FHIR base URL tokens are issued for (``aud``): configured, or the default bind."""
    return (settings.base_url or DEFAULT_BASE_URL).rstrip("/")


def auth_config(settings: Settings) -> AuthConfig:
    """The ``AuthConfig``: the issuer is ``/auth`` beside the FHIR base's last segment."""
    base = fhir_base_url(settings)
    parts = urlsplit(base)
    root = parts.path.rsplit("/", 1)[0]
    issuer = urlunsplit((parts.scheme, parts.netloc, f"{root}/auth", "", ""))
    return AuthConfig(
        fhir_base_url=base,
        issuer=issuer,
        access_token_ttl=settings.access_token_ttl,
        offline_refresh_ttl=settings.refresh_token_ttl,
        jwks_hosts=frozenset(settings.jwks_hosts),
    )


def open_auth_server(
    settings: Settings, *, hasher: PasswordHasher | None = None
) -> SmartAuthServer:
    """The authorization server over ``settings.resolved_auth_dir()``."""
    directory = settings.resolved_auth_dir()
    return SmartAuthServer(
        auth_config(settings),
        FileAuthStore(directory / STATE_FILE),
        ephemeral=SqliteExpiringStore(directory / SHARED_STATE_FILE, time.time),
        hasher=hasher,
    )
