"""Client authentication at the token, introspection and revocation endpoints.

Methods (RFC 6749 section 2.3, RFC 7523): ``client_secret_basic``, ``client_secret_post``,
``private_key_jwt``, and ``none`` for public clients (``client_id`` only). A client
authenticates with the method of its type and no other; using two methods at once is an error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from fhir_server.auth.assertions import AssertionVerifier
from fhir_server.auth.clients import Client, ClientRegistry
from fhir_server.auth.jose import JwtError, unverified_claims
from fhir_server.auth.opaque import digest, same
from fhir_server.errors import InvalidRequest, Unauthorized

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a request offers to prove which client sends it.

    Attributes:
        client_id: from the form or the Basic header.
        client_secret: from the form or the Basic header.
        assertion_type: ``client_assertion_type``.
        assertion: ``client_assertion``.
    """

    client_id: str | None = None
    client_secret: str | None = None
    assertion_type: str | None = None
    assertion: str | None = None

    @classmethod
    def from_request(cls, form: Mapping[str, str], authorization: str | None) -> ClientCredentials:
        """Read credentials from a form body and the ``Authorization`` header.

        Raises:
            InvalidRequest: a malformed Basic header, or more than one method at once.
        """
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            if secret is not None:
                raise InvalidRequest("use one client authentication method", code="invalid_request")
            basic_id, secret = _basic(authorization[6:])
            if client_id not in (None, basic_id):
                raise InvalidRequest("client_id differs from the Basic credentials")
            client_id = basic_id
        assertion = form.get("client_assertion")
        if assertion is not None and secret is not None:
            raise InvalidRequest("use one client authentication method", code="invalid_request")
        return cls(client_id, secret, form.get("client_assertion_type"), assertion)


def _basic(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("malformed Basic credentials", code="invalid_request") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidRequest("malformed Basic credentials", code="invalid_request")
    return unquote(client_id), unquote(secret)


class ClientAuthenticator:
    """Turns ``ClientCredentials`` into an authenticated ``Client``."""

    def __init__(self, registry: ClientRegistry, assertions: AssertionVerifier) -> None:
        """Create an authenticator over the client registry."""
        self._registry, self._assertions = registry, assertions

    def authenticate(self, credentials: ClientCredentials) -> Client:
        """The client that proved its identity with the method its type requires.

        Raises:
            Unauthorized: ``invalid_client`` for unknown clients, wrong secrets, rejected
                assertions, or a method that does not fit the client's type.
        """
        if credentials.assertion is not None:
            return self._by_assertion(credentials, credentials.assertion)
        if credentials.client_id is None:
            raise Unauthorized("client authentication required", code="invalid_client")
        client = self._registry.get(credentials.client_id)
        if credentials.client_secret is not None:
            ok = client.secret_digest is not None and same(
                digest(credentials.client_secret), client.secret_digest
            )
            if client.client_type != "confidential-symmetric" or not ok:
                raise Unauthorized("wrong client secret", code="invalid_client")
        elif client.client_type != "public":
            raise Unauthorized(
                f"a {client.client_type} client must authenticate", code="invalid_client"
            )
        return client

    def _by_assertion(self, credentials: ClientCredentials, assertion: str) -> Client:
        if credentials.assertion_type != ASSERTION_TYPE:
            raise Unauthorized(
                f"client_assertion_type must be {ASSERTION_TYPE}", code="invalid_client"
            )
        try:
            issuer = unverified_claims(assertion).get("iss")
        except JwtError as exc:
            raise Unauthorized(f"malformed client assertion: {exc}", code="invalid_client") from exc
        if not isinstance(issuer, str) or credentials.client_id not in (None, issuer):
            raise Unauthorized("the assertion's iss is not the client_id", code="invalid_client")
        client = self._registry.get(issuer)
        if client.client_type != "confidential-asymmetric":
            raise Unauthorized("only asymmetric clients use private_key_jwt", code="invalid_client")
        self._assertions.verify(client, assertion)
        return client
