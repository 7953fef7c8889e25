"""Server-side state of issued tokens: refresh tokens and revocations.

* Refresh tokens are opaque random values stored only as SHA-256 digests (durable store),
  rotated on every use. A used refresh token is remembered for ``replay_memory`` seconds:
  presenting it again means it leaked, and the whole authorization is revoked.
* Access tokens are JWTs; revoking one records its ``jti`` until the token's own expiry.
* Revoking an authorization (``sid``) deletes its refresh tokens and records the ``sid`` for
  as long as an access or id token issued before the revocation can live.
"""

from __future__ import annotations

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization
from fhir_server.auth.opaque import digest, new_token
from fhir_server.auth.ports import AuthStore, Clock, ExpiringStore
from fhir_server.errors import InvalidRequest

REFRESH = "refresh_tokens"
_USED_REFRESH = "used_refresh"
_REVOKED_JTI = "revoked_jti"
_REVOKED_SID = "revoked_sid"


class TokenState:
    """Refresh tokens, revoked access tokens and revoked authorizations."""

    def __init__(
        self, store: AuthStore, ephemeral: ExpiringStore, clock: Clock, config: AuthConfig
    ) -> None:
        """Create the token state over a durable and an expiring store."""
        self._store, self._ephemeral, self._clock, self._config = store, ephemeral, clock, config

    def issue_refresh(self, authorization: Authorization, ttl: int) -> str:
        """A new refresh token for ``authorization``, valid for ``ttl`` seconds."""
        self._purge_expired()
        token = new_token()
        expires_at = int(self._clock()) + ttl
        document = {"authorization": authorization.to_json(), "expires_at": expires_at}
        self._store.put(REFRESH, digest(token), document)
        return token

    def use_refresh(self, token: str, client_id: str) -> Authorization:
        """Consume a refresh token (single use) and return its authorization.

        Raises:
            InvalidRequest: ``invalid_grant`` for an unknown, expired, reused or foreign
                token; reuse or use by another client also revokes the authorization.
        """
        key = digest(token)
        document = self._store.pop(REFRESH, key)
        if document is None:
            replayed = self._ephemeral.get(_USED_REFRESH, key)
            if replayed is not None:
                self.revoke_authorization(replayed["sid"])
            raise InvalidRequest(
                "refresh token is invalid or was already used", code="invalid_grant"
            )
        authorization = Authorization.from_json(document["authorization"])
        self._ephemeral.put(
            _USED_REFRESH,
            key,
            {"sid": authorization.sid},
            self._clock() + self._config.replay_memory,
        )
        if authorization.client_id != client_id:
            self.revoke_authorization(authorization.sid)
            raise InvalidRequest("refresh token was issued to another client", code="invalid_grant")
        if document["expires_at"] <= self._clock():
            raise InvalidRequest("refresh token expired", code="invalid_grant")
        return authorization

    def find_refresh(self, token: str) -> tuple[Authorization, int] | None:
        """The live refresh token's authorization and expiry, without consuming it."""
        document = self._store.get(REFRESH, digest(token))
        if document is None or document["expires_at"] <= self._clock():
            return None
        return Authorization.from_json(document["authorization"]), int(document["expires_at"])

    def revoke_access(self, jti: str, expires_at: float) -> None:
        """Revoke one access token until it would have expired anyway."""
        self._ephemeral.put(_REVOKED_JTI, jti, {}, expires_at)

    def revoke_authorization(self, sid: str) -> None:
        """Revoke every token issued from an authorization."""
        lifetime = max(self._config.access_token_ttl, self._config.id_token_ttl)
        self._ephemeral.put(_REVOKED_SID, sid, {}, self._clock() + lifetime)
        for key, document in self._store.items(REFRESH):
            if document["authorization"]["sid"] == sid:
                self._store.pop(REFRESH, key)

    def _purge_expired(self) -> None:
        now = self._clock()
        for key, document in self._store.items(REFRESH):
            if document["expires_at"] <= now:
                self._store.pop(REFRESH, key)

    def is_revoked(self, jti: str, sid: str | None) -> bool:
        """True when the token or its authorization was revoked."""
        if self._ephemeral.get(_REVOKED_JTI, jti) is not None:
            return True
        return sid is not None and self._ephemeral.get(_REVOKED_SID, sid) is not None
