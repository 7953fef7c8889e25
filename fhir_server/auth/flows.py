"""``SmartAuthServer``: the framework-free service the HTTP layer calls, one method per step.

It composes the parts (keys, clients, users, launches, the authorization and token
endpoint logic, introspection) over the two stores, so the HTTP routes stay thin:

=====================================  ===============================================
route                                  call
=====================================  ===============================================
GET/POST /auth/authorize (request)     ``authorize_request(params)``
POST /auth/authorize (login form)      ``login(txn, username, password)``
POST /auth/authorize (consent/picker)  ``issue_code(txn, scopes=..., patient=...)`` or ``deny(txn)``
POST /auth/token                       ``token(form, authorization_header)``
POST /auth/introspect                  ``introspect(token, form, authorization_header)``
POST /auth/revoke                      ``revoke(form, authorization_header)``
GET /auth/jwks                         ``jwks()``
GET /fhir/.well-known/smart-config...  ``smart_configuration()``
any FHIR request                       ``caller(authorization_header)``
admin: create an EHR launch            ``create_launch(patient_id, encounter_id)``
=====================================  ===============================================
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

from fhir_server.auth.assertions import AssertionVerifier
from fhir_server.auth.authorization import (
    AuthorizationEndpoint,
    AuthorizeDecision,
    PendingAuthorization,
)
from fhir_server.auth.client_auth import ClientAuthenticator, ClientCredentials
from fhir_server.auth.clients import Client, ClientRegistry
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.discovery import smart_configuration
from fhir_server.auth.introspection import Introspection
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.launches import Launches
from fhir_server.auth.memory_store import MemoryExpiringStore
from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.policy import Caller
from fhir_server.auth.ports import AuthStore, Clock, Document, ExpiringStore, JwksFetcher
from fhir_server.auth.remote_jwks import RemoteKeySets, UrllibJwksFetcher
from fhir_server.auth.responses import TokenResponse
from fhir_server.auth.token_endpoint import TokenEndpoint
from fhir_server.auth.token_state import TokenState
from fhir_server.auth.tokens import TokenIssuer
from fhir_server.auth.users import UserDirectory
from fhir_server.errors import InvalidRequest, Unauthorized


class SmartAuthServer:
    """The SMART App Launch / Backend Services authorization server, without HTTP."""

    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        *,
        ephemeral: ExpiringStore | None = None,
        clock: Clock = time.time,
        fetcher: JwksFetcher | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        """Compose the server.

        Args:
            config: the settings.
            store: durable documents (``FileAuthStore`` in production).
            ephemeral: short-lived state: pending authorizations, codes, EHR launches,
                ``jti`` values, revocations (default: in this process's memory; give a
                store shared by every process that serves or creates launches).
            clock: the time source (tests pass a fixed clock).
            fetcher: fetches client JWKS URLs (default: urllib, allowlisted hosts only).
            hasher: password hashing (default: scrypt N=2^17).
        """
        ephemeral = ephemeral or MemoryExpiringStore(clock)
        self.config = config
        retain = max(config.access_token_ttl, config.id_token_ttl) + 60
        self.keys = KeyRing(store, clock, config.signing_alg, retain)
        self.clients = ClientRegistry(store, config.jwks_hosts)
        self.users = UserDirectory(store, hasher or PasswordHasher())
        self.launches = Launches(ephemeral, clock, config.launch_ttl)
        state = TokenState(store, ephemeral, clock, config)
        self.issuer = TokenIssuer(self.keys, state, clock, config)
        remote = RemoteKeySets(fetcher or UrllibJwksFetcher(), clock, config.jwks_hosts)
        self._authenticator = ClientAuthenticator(
            self.clients, AssertionVerifier(remote, ephemeral, clock, config)
        )
        self._authorize = AuthorizationEndpoint(
            config, self.clients, self.users, self.launches, ephemeral, clock
        )
        self._grants = TokenEndpoint(config, self.issuer, state, ephemeral, clock)
        self._introspection = Introspection(config, self.issuer, state)

    def authorize_request(self, params: Mapping[str, str]) -> AuthorizeDecision:
        """Validate an authorize request; see ``AuthorizationEndpoint.begin``."""
        return self._authorize.begin(params)

    def pending(self, txn: str) -> PendingAuthorization:
        """The pending authorization of a transaction (to render its pages)."""
        return self._authorize.pending(txn)

    def login(self, txn: str, username: str, password: str) -> PendingAuthorization:
        """Log the user in; see ``AuthorizationEndpoint.login``."""
        return self._authorize.login(txn, username, password)

    def issue_code(
        self, txn: str, *, scopes: Collection[str] | None = None, patient: str | None = None
    ) -> str:
        """Consent given: the redirect URL with the code; see ``AuthorizationEndpoint.approve``."""
        return self._authorize.approve(txn, scopes=scopes, patient=patient)

    def deny(self, txn: str) -> str:
        """Consent refused: the redirect URL carrying ``error=access_denied``."""
        return self._authorize.deny(txn)

    def token(self, form: Mapping[str, str], authorization: str | None) -> TokenResponse:
        """The token endpoint: authenticate the client, then run its ``grant_type``.

        Raises:
            Unauthorized: ``invalid_client`` (401).
            InvalidRequest: ``invalid_request``, ``invalid_grant``, ``invalid_scope``,
                ``unauthorized_client`` or ``unsupported_grant_type`` (400).
        """
        client = self._authenticator.authenticate(
            ClientCredentials.from_request(form, authorization)
        )
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._grants.exchange_code(
                client, _required(form, "code"), form.get("code_verifier"), form.get("redirect_uri")
            )
        if grant_type == "refresh_token":
            return self._grants.refresh(client, _required(form, "refresh_token"), form.get("scope"))
        if grant_type == "client_credentials":
            return self._grants.client_credentials(client, form.get("scope", ""))
        raise InvalidRequest(
            f"grant_type {grant_type!r} is not supported", code="unsupported_grant_type"
        )

    def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str | None,
        credentials: ClientCredentials,
    ) -> TokenResponse:
        """``grant_type=authorization_code`` for an authenticating client."""
        client = self._authenticator.authenticate(credentials)
        return self._grants.exchange_code(client, code, code_verifier, redirect_uri)

    def refresh(
        self, refresh_token: str, scope: str | None, credentials: ClientCredentials
    ) -> TokenResponse:
        """``grant_type=refresh_token`` for an authenticating client."""
        client = self._authenticator.authenticate(credentials)
        return self._grants.refresh(client, refresh_token, scope)

    def client_credentials(
        self, client_assertion_type: str, client_assertion: str, scope: str
    ) -> TokenResponse:
        """``grant_type=client_credentials`` with a ``private_key_jwt`` assertion."""
        credentials = ClientCredentials(
            assertion_type=client_assertion_type, assertion=client_assertion
        )
        return self._grants.client_credentials(self._authenticator.authenticate(credentials), scope)

    def introspect(
        self, token: str, form: Mapping[str, str], authorization: str | None
    ) -> dict[str, Any]:
        """RFC 7662 introspection of ``token``.

        The requester is a confidential client, or the bearer of a valid access token (who
        then learns only about tokens of its own client).

        Raises:
            Unauthorized: the requester is neither (401).
        """
        if authorization and authorization.lower().startswith("bearer "):
            requester = self.issuer.validate(authorization[7:].strip()).client_id
            answer = self._introspection.introspect(token)
            return answer if answer.get("client_id") == requester else {"active": False}
        client = self._client(form, authorization)
        if client.client_type == "public":
            raise Unauthorized("introspection needs a confidential client", code="invalid_client")
        return self._introspection.introspect(token)

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> None:
        """RFC 7009: revoke ``form["token"]`` for the authenticating client (always 200)."""
        client = self._client(form, authorization)
        self._introspection.revoke(_required(form, "token"), client, form.get("token_type_hint"))

    def caller(self, authorization: str | None) -> Caller:
        """The caller of a FHIR request from its ``Authorization: Bearer`` header.

        Raises:
            Unauthorized: no bearer token, or an invalid one (answer 401 with
                ``WWW-Authenticate: Bearer``, plus ``error="invalid_token"`` for the latter).
        """
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("a bearer access token is required", code="login-required")
        return Caller.from_token(self.issuer.validate(authorization[7:].strip()))

    def create_launch(
        self,
        patient_id: str,
        encounter_id: str | None = None,
        *,
        fhir_context: tuple[str, ...] = (),
        client_id: str | None = None,
    ) -> str:
        """An EHR launch value (admin only); see ``Launches.create``."""
        return self.launches.create(
            patient_id, encounter_id, fhir_context=fhir_context, client_id=client_id
        )

    def jwks(self) -> Document:
        """Our public signing keys."""
        return self.keys.jwks()

    def smart_configuration(self) -> dict[str, Any]:
        """The SMART configuration document."""
        return smart_configuration(self.config)

    def _client(self, form: Mapping[str, str], authorization: str | None) -> Client:
        return self._authenticator.authenticate(ClientCredentials.from_request(form, authorization))


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidRequest(f"{name} is required", code="invalid_request")
    return value
