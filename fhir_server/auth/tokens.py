"""Our JWTs: access tokens (RFC 9068 shape) and OpenID Connect id_tokens.

Access tokens are short-lived (``AuthConfig.access_token_ttl``), typed ``at+jwt``, and carry
``iss``, ``aud`` (the FHIR base URL), ``sub``, ``client_id``, ``scope``, ``exp``, ``iat``,
``jti``, ``sid`` (the authorization they descend from) and the launch context (``patient``,
``encounter``, ``fhirContext``, ``fhirUser``). Validation rejects anything else: another
algorithm (``none`` included), another issuer or audience, an expired, forged or revoked token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization
from fhir_server.auth.jose import JwtError
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.opaque import new_token
from fhir_server.auth.ports import Clock, Document
from fhir_server.auth.token_state import TokenState
from fhir_server.errors import Unauthorized

ACCESS_TYP = "at+jwt"
ACCEPTED_ALGS = ("RS256", "ES256")
_CLOCK_SKEW = 60


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """A validated access token.

    Attributes:
        subject: ``sub``: the user, or the client for backend services.
        client_id: the client the token was issued to.
        scope: the granted scopes, space-separated.
        jti: the token's id.
        sid: the authorization the token descends from.
        issued_at: ``iat``.
        expires_at: ``exp``.
        patient: the launch patient's id.
        encounter: the launch encounter's id.
        fhir_user: the user's FHIR resource as an absolute URL.
        fhir_context: further launch context references.
    """

    subject: str
    client_id: str
    scope: str
    jti: str
    sid: str | None
    issued_at: int
    expires_at: int
    patient: str | None = None
    encounter: str | None = None
    fhir_user: str | None = None
    fhir_context: tuple[str, ...] = ()

    @classmethod
    def from_claims(cls, claims: Document) -> AccessClaims:
        """Read the JWT claims of an access token (already verified)."""
        return cls(
            subject=str(claims["sub"]),
            client_id=str(claims["client_id"]),
            scope=str(claims.get("scope", "")),
            jti=str(claims["jti"]),
            sid=claims.get("sid"),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            patient=claims.get("patient"),
            encounter=claims.get("encounter"),
            fhir_user=claims.get("fhirUser"),
            fhir_context=tuple(c["reference"] for c in claims.get("fhirContext", [])),
        )


class TokenIssuer:
    """Signs and validates our JWTs."""

    def __init__(self, keys: KeyRing, state: TokenState, clock: Clock, config: AuthConfig) -> None:
        """Create an issuer signing with ``keys`` and checking revocations in ``state``."""
        self._keys, self._state, self._clock, self._config = keys, state, clock, config

    def issue_access(self, authorization: Authorization, scope: str) -> tuple[str, AccessClaims]:
        """A signed access token for ``authorization`` with ``scope`` (maybe narrower)."""
        now = int(self._clock())
        context = authorization.context
        claims: dict[str, Any] = {
            "iss": self._config.issuer,
            "aud": self._config.fhir_base_url,
            "sub": authorization.subject,
            "client_id": authorization.client_id,
            "scope": scope,
            "iat": now,
            "exp": now + self._config.access_token_ttl,
            "jti": new_token(),
            "sid": authorization.sid,
        }
        optional = {
            "patient": context.patient,
            "encounter": context.encounter,
            "fhirUser": self.fhir_user_url(authorization.fhir_user),
            "fhirContext": [{"reference": r} for r in context.fhir_context] or None,
        }
        claims.update({k: v for k, v in optional.items() if v is not None})
        token = self._keys.signing_key().sign(claims, typ=ACCESS_TYP)
        return token, AccessClaims.from_claims(claims)

    def issue_id_token(self, authorization: Authorization, *, with_fhir_user: bool) -> str:
        """An OpenID Connect id_token for the user of ``authorization``."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self._config.issuer,
            "sub": authorization.subject,
            "aud": authorization.client_id,
            "iat": now,
            "exp": now + self._config.id_token_ttl,
            "auth_time": authorization.auth_time,
            "sid": authorization.sid,
        }
        if authorization.nonce is not None:
            claims["nonce"] = authorization.nonce
        if with_fhir_user and authorization.fhir_user is not None:
            claims["fhirUser"] = self.fhir_user_url(authorization.fhir_user)
        return self._keys.signing_key().sign(claims, typ="JWT")

    def validate(self, token: str) -> AccessClaims:
        """The claims of a valid access token.

        Raises:
            Unauthorized: ``invalid_token`` for any reason the token cannot be trusted.
        """
        try:
            verified = self._keys.public_keys().verify(token, ACCEPTED_ALGS)
        except JwtError as exc:
            raise _invalid(str(exc)) from exc
        if verified.header.get("typ") != ACCESS_TYP:
            raise _invalid("not an access token")
        claims = verified.claims
        self._check_claims(claims)
        try:
            access = AccessClaims.from_claims(claims)
        except (KeyError, TypeError, ValueError) as exc:
            raise _invalid(f"missing or malformed claim {exc}") from exc
        if self._state.is_revoked(access.jti, access.sid):
            raise _invalid("the token was revoked")
        return access

    def fhir_user_url(self, fhir_user: str | None) -> str | None:
        """A ``fhirUser`` relative reference as the absolute URL SMART asks for."""
        if fhir_user is None or "://" in fhir_user:
            return fhir_user
        return f"{self._config.fhir_base_url}/{fhir_user}"

    def _check_claims(self, claims: Document) -> None:
        now = self._clock()
        if claims.get("iss") != self._config.issuer:
            raise _invalid("issued by someone else")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._config.fhir_base_url not in audiences:
            raise _invalid("issued for another audience")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise _invalid("exp and iat must be numbers")
        if exp <= now:
            raise _invalid("the token expired")
        if iat > now + _CLOCK_SKEW:
            raise _invalid("the token was issued in the future")


def _invalid(why: str) -> Unauthorized:
    return Unauthorized(f"invalid access token: {why}", code="invalid_token")
