"""Registered client applications and their registration rules.

Three kinds, as SMART names them:

* ``public``: a browser or native app; no secret, PKCE only.
* ``confidential-symmetric``: authenticates with a secret the server generates (256 bits,
  shown once, stored as a SHA-256 digest: a slow KDF adds nothing for a random secret).
* ``confidential-asymmetric``: authenticates with ``private_key_jwt`` assertions signed by a
  key from its JWKS, registered inline or as a ``jwks_uri`` on an allowed host.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

from fhir_server.auth.jose import JwtError, PublicKeys
from fhir_server.auth.opaque import digest, new_token
from fhir_server.auth.ports import AuthStore, Document
from fhir_server.auth.remote_jwks import check_jwks_url
from fhir_server.auth.scopes import ScopeSet, parse_scopes
from fhir_server.errors import InvalidRequest, Unauthorized

ClientType = Literal["public", "confidential-symmetric", "confidential-asymmetric"]
CLIENT_TYPES: tuple[ClientType, ...] = (
    "public",
    "confidential-symmetric",
    "confidential-asymmetric",
)
COLLECTION = "clients"


@dataclass(frozen=True, slots=True)
class Client:
    """A registered client.

    Attributes:
        client_id: the OAuth ``client_id``.
        client_type: how it authenticates.
        redirect_uris: the exact redirect URIs it may use.
        scopes: the space-separated scopes it may be granted (the upper bound of every grant).
        name: a display name for the consent page.
        secret_digest: SHA-256 of the secret (confidential-symmetric only).
        jwks: its public JWKS (confidential-asymmetric, inline).
        jwks_uri: where its public JWKS is published (confidential-asymmetric, by URL).
    """

    client_id: str
    client_type: ClientType
    redirect_uris: tuple[str, ...]
    scopes: str
    name: str = ""
    secret_digest: str | None = None
    jwks: Document | None = None
    jwks_uri: str | None = None

    @property
    def allowed(self) -> ScopeSet:
        """The scopes this client may be granted, parsed."""
        return parse_scopes(self.scopes)

    def to_json(self) -> Document:
        """The stored form."""
        return {**asdict(self), "redirect_uris": list(self.redirect_uris)}

    @classmethod
    def from_json(cls, doc: Document) -> Client:
        """Read the stored form."""
        return cls(**{**doc, "redirect_uris": tuple(doc["redirect_uris"])})


@dataclass(frozen=True, slots=True)
class Registration:
    """A new client, with its secret when one was generated (shown once, never stored)."""

    client: Client
    secret: str | None


class ClientRegistry:
    """Registers and finds clients."""

    def __init__(self, store: AuthStore, jwks_hosts: frozenset[str]) -> None:
        """Create a registry over ``store`` (collection ``clients``)."""
        self._store, self._jwks_hosts = store, jwks_hosts

    def register(
        self,
        client_type: str,
        *,
        scopes: str,
        redirect_uris: tuple[str, ...] = (),
        name: str = "",
        client_id: str | None = None,
        jwks: Document | None = None,
        jwks_uri: str | None = None,
    ) -> Registration:
        """Validate and store a new client.

        Raises:
            InvalidRequest: unknown type, malformed redirect URI or scope, missing or unusable
                keys for an asymmetric client, keys given to another type, or a taken id.
        """
        if client_type not in CLIENT_TYPES:
            raise InvalidRequest(f"client type must be one of {', '.join(CLIENT_TYPES)}")
        kind: ClientType = client_type
        parse_scopes(scopes)
        for uri in redirect_uris:
            _check_redirect_uri(uri)
        self._check_keys(kind, jwks, jwks_uri)
        client_id = client_id or secrets.token_urlsafe(16)
        if self._store.get(COLLECTION, client_id) is not None:
            raise InvalidRequest(f"client {client_id!r} is already registered")
        secret = new_token() if kind == "confidential-symmetric" else None
        client = Client(
            client_id,
            kind,
            tuple(redirect_uris),
            scopes,
            name,
            digest(secret) if secret else None,
            jwks,
            jwks_uri,
        )
        self._store.put(COLLECTION, client_id, client.to_json())
        return Registration(client, secret)

    def get(self, client_id: str) -> Client:
        """The client with this id.

        Raises:
            Unauthorized: ``invalid_client`` when no such client is registered.
        """
        doc = self._store.get(COLLECTION, client_id)
        if doc is None:
            raise Unauthorized(f"unknown client {client_id!r}", code="invalid_client")
        return Client.from_json(doc)

    def _check_keys(self, kind: ClientType, jwks: Document | None, jwks_uri: str | None) -> None:
        if kind != "confidential-asymmetric":
            if jwks is not None or jwks_uri is not None:
                raise InvalidRequest("only confidential-asymmetric clients register keys")
            return
        if (jwks is None) == (jwks_uri is None):
            raise InvalidRequest("an asymmetric client needs exactly one of jwks and jwks_uri")
        if jwks_uri is not None:
            check_jwks_url(jwks_uri, self._jwks_hosts)
        elif jwks is not None:
            _check_inline_jwks(jwks)


def _check_inline_jwks(jwks: Document) -> None:
    if any("d" in key for key in jwks.get("keys", [])):
        raise InvalidRequest("the JWKS holds a private key: register public keys only")
    try:
        PublicKeys(jwks)
    except JwtError as exc:
        raise InvalidRequest(str(exc)) from exc


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if not parts.scheme or not (parts.netloc or parts.path) or parts.fragment:
        raise InvalidRequest(f"redirect URI {uri!r} must be absolute and without a fragment")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidRequest(f"redirect URI {uri!r} must use https (http only on loopback)")
