"""The token endpoint's grants: authorization_code (PKCE), refresh_token, client_credentials.

https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token
https://hl7.org/fhir/smart-app-launch/backend-services.html

Every function here takes a client that ``ClientAuthenticator`` already authenticated.
Errors are RFC 6749 section 5.2 codes in ``FhirError.code``: ``invalid_grant``,
``invalid_scope``, ``unauthorized_client`` (400, ``InvalidRequest``).
"""

from __future__ import annotations

import re

from fhir_server.auth.authorization import CODES
from fhir_server.auth.clients import Client
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization, LaunchContext
from fhir_server.auth.opaque import digest, new_token, s256, same
from fhir_server.auth.ports import Clock, ExpiringStore
from fhir_server.auth.responses import TokenResponse
from fhir_server.auth.scopes import ADMIN_SCOPES, ScopeSet, grant, parse_scopes
from fhir_server.auth.token_state import TokenState
from fhir_server.auth.tokens import TokenIssuer
from fhir_server.errors import InvalidRequest

_USED_CODES = "used_code"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


class TokenEndpoint:
    """Issues tokens for the three grant types."""

    def __init__(
        self,
        config: AuthConfig,
        issuer: TokenIssuer,
        state: TokenState,
        ephemeral: ExpiringStore,
        clock: Clock,
    ) -> None:
        """Create the grant logic."""
        self._config, self._issuer, self._state = config, issuer, state
        self._ephemeral, self._clock = ephemeral, clock

    def exchange_code(
        self, client: Client, code: str, code_verifier: str | None, redirect_uri: str | None
    ) -> TokenResponse:
        """Redeem an authorization code (single use, PKCE S256, exact redirect URI).

        A code presented a second time is refused and every token issued from it is revoked.

        Raises:
            InvalidRequest: ``invalid_grant`` for an unknown, expired, replayed or foreign
                code, a redirect URI mismatch, or a missing or wrong PKCE verifier.
        """
        key = digest(code)
        document = self._ephemeral.take(CODES, key)
        if document is None:
            replayed = self._ephemeral.get(_USED_CODES, key)
            if replayed is not None:
                self._state.revoke_authorization(replayed["sid"])
            raise _invalid_grant("the code is invalid, expired or was already used")
        authorization = Authorization.from_json(document["authorization"])
        memory = self._clock() + self._config.replay_memory
        self._ephemeral.put(_USED_CODES, key, {"sid": authorization.sid}, memory)
        if authorization.client_id != client.client_id:
            raise _invalid_grant("the code was issued to another client")
        if redirect_uri != document["redirect_uri"]:
            raise _invalid_grant("redirect_uri differs from the authorization request")
        if code_verifier is None or not _VERIFIER.fullmatch(code_verifier):
            raise _invalid_grant("code_verifier is missing or malformed")
        if not same(s256(code_verifier), document["code_challenge"]):
            raise _invalid_grant("code_verifier does not match the code_challenge")
        return self._respond(authorization, parse_scopes(authorization.scope))

    def refresh(self, client: Client, refresh_token: str, scope: str | None) -> TokenResponse:
        """Rotate a refresh token; ``scope``, if given, may only narrow the original grant.

        Raises:
            InvalidRequest: ``invalid_grant`` (see ``TokenState.use_refresh``) or
                ``invalid_scope`` when ``scope`` asks for more than was granted.
        """
        found = self._state.find_refresh(refresh_token)
        original = parse_scopes(found[0].scope) if found else ScopeSet()
        asked = parse_scopes(scope) if scope else original
        if found is not None and not original.covers(asked):
            raise InvalidRequest(
                "scope asks for more than the original grant", code="invalid_scope"
            )
        authorization = self._state.use_refresh(refresh_token, client.client_id)
        return self._respond(authorization, asked if scope else parse_scopes(authorization.scope))

    def client_credentials(self, client: Client, scope: str) -> TokenResponse:
        """SMART Backend Services: a token with ``system/`` scopes, no refresh token.

        Confidential-asymmetric clients (``private_key_jwt``, the SMART way) and, for
        tools such as load generators, confidential-symmetric clients may use it. Besides
        ``system/`` scopes only ``ADMIN_SCOPES`` the client is allowed by name are granted.
        Without a ``scope`` the client's registered ``system/`` scopes are the default.

        Raises:
            InvalidRequest: ``unauthorized_client`` for a public client; ``invalid_scope``
                when nothing requested may be granted.
        """
        if client.client_type == "public":
            raise InvalidRequest(
                "client_credentials needs a confidential client", code="unauthorized_client"
            )
        default = ScopeSet(client.allowed.resources)  # RFC 6749 section 3.3
        requested = parse_scopes(scope) if scope.strip() else default
        system_only = ScopeSet(
            tuple(s for s in requested.resources if s.context == "system"),
            requested.names & ADMIN_SCOPES,
        )
        granted = grant(system_only, client.allowed)
        if not granted.resources and not granted.names:
            raise InvalidRequest("no requested system/ scope may be granted", code="invalid_scope")
        authorization = Authorization(new_token(), client.client_id, str(granted), client.client_id)
        access_token, _ = self._issuer.issue_access(authorization, str(granted))
        return TokenResponse(access_token, self._config.access_token_ttl, str(granted))

    def _respond(self, authorization: Authorization, scopes: ScopeSet) -> TokenResponse:
        access_token, _ = self._issuer.issue_access(authorization, str(scopes))
        context: LaunchContext = authorization.context
        return TokenResponse(
            access_token=access_token,
            expires_in=self._config.access_token_ttl,
            scope=str(scopes),
            refresh_token=self._refresh_token(authorization, scopes),
            id_token=self._id_token(authorization, scopes),
            patient=context.patient,
            encounter=context.encounter,
            fhir_context=context.fhir_context,
            need_patient_banner=context.need_patient_banner,
            smart_style_url=self._config.smart_style_url,
        )

    def _refresh_token(self, authorization: Authorization, scopes: ScopeSet) -> str | None:
        if scopes.has("offline_access"):
            return self._state.issue_refresh(authorization, self._config.offline_refresh_ttl)
        if scopes.has("online_access"):
            return self._state.issue_refresh(authorization, self._config.online_refresh_ttl)
        return None

    def _id_token(self, authorization: Authorization, scopes: ScopeSet) -> str | None:
        if not scopes.has("openid"):
            return None
        with_fhir_user = scopes.has("fhirUser") or scopes.has("profile")
        return self._issuer.issue_id_token(authorization, with_fhir_user=with_fhir_user)


def _invalid_grant(why: str) -> InvalidRequest:
    return InvalidRequest(why, code="invalid_grant")
