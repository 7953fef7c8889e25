"""Token introspection (RFC 7662) and revocation (RFC 7009).

https://hl7.org/fhir/smart-app-launch/token-introspection.html
"""

from __future__ import annotations

from typing import Any

from fhir_server.auth.clients import Client
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization
from fhir_server.auth.token_state import TokenState
from fhir_server.auth.tokens import AccessClaims, TokenIssuer
from fhir_server.errors import InvalidRequest, Unauthorized

_INACTIVE: dict[str, Any] = {"active": False}


class Introspection:
    """Answers "is this token active, and what does it grant?" and revokes tokens."""

    def __init__(self, config: AuthConfig, issuer: TokenIssuer, state: TokenState) -> None:
        """Create the introspection and revocation logic."""
        self._config, self._issuer, self._state = config, issuer, state

    def introspect(self, token: str) -> dict[str, Any]:
        """The RFC 7662 response for an access or refresh token (``active: false`` if neither).

        The caller must have authorized the request (see ``SmartAuthServer.introspect``).
        """
        access = self._access(token)
        if access is not None:
            return self._describe_access(access)
        found = self._state.find_refresh(token)
        if found is None:
            return dict(_INACTIVE)
        authorization, expires_at = found
        return {
            **self._describe_authorization(authorization),
            "active": True,
            "token_type": "refresh_token",
            "exp": expires_at,
        }

    def revoke(self, token: str, client: Client, token_type_hint: str | None = None) -> None:
        """Revoke an access token (by ``jti``) or a refresh token (with its authorization).

        Unknown, expired or already revoked tokens are ignored (RFC 7009 section 2.2).

        Raises:
            InvalidRequest: ``unauthorized_client`` when the token belongs to another client.
        """
        kinds = (self._revoke_refresh, self._revoke_access)
        if token_type_hint == "access_token":
            kinds = (self._revoke_access, self._revoke_refresh)
        for revoke in kinds:
            if revoke(token, client):
                return

    def _revoke_access(self, token: str, client: Client) -> bool:
        access = self._access(token)
        if access is None:
            return False
        _check_owner(access.client_id, client)
        self._state.revoke_access(access.jti, access.expires_at)
        return True

    def _revoke_refresh(self, token: str, client: Client) -> bool:
        found = self._state.find_refresh(token)
        if found is None:
            return False
        _check_owner(found[0].client_id, client)
        self._state.revoke_authorization(found[0].sid)
        return True

    def _access(self, token: str) -> AccessClaims | None:
        try:
            return self._issuer.validate(token)
        except Unauthorized:
            return None

    def _describe_access(self, access: AccessClaims) -> dict[str, Any]:
        described: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": access.scope,
            "client_id": access.client_id,
            "sub": access.subject,
            "iss": self._config.issuer,
            "aud": self._config.fhir_base_url,
            "exp": access.expires_at,
            "iat": access.issued_at,
            "jti": access.jti,
        }
        optional: dict[str, Any] = {
            "patient": access.patient,
            "encounter": access.encounter,
            "fhirUser": access.fhir_user,
            "fhirContext": [{"reference": r} for r in access.fhir_context] or None,
        }
        described.update({k: v for k, v in optional.items() if v is not None})
        return described

    def _describe_authorization(self, authorization: Authorization) -> dict[str, Any]:
        context = authorization.context
        described: dict[str, Any] = {
            "scope": authorization.scope,
            "client_id": authorization.client_id,
            "sub": authorization.subject,
            "iss": self._config.issuer,
        }
        optional: dict[str, Any] = {
            "patient": context.patient,
            "encounter": context.encounter,
            "fhirUser": self._issuer.fhir_user_url(authorization.fhir_user),
        }
        described.update({k: v for k, v in optional.items() if v is not None})
        return described


def _check_owner(owner: str, client: Client) -> None:
    if owner != client.client_id:
        raise InvalidRequest("the token was issued to another client", code="unauthorized_client")
