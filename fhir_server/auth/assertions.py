"""``private_key_jwt`` client assertions (RFC 7523, SMART Backend Services).

https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html

An assertion is accepted when: its ``alg`` is RS384 or ES384; its ``kid`` names a key of
the client's registered JWKS (inline, or fetched from the registered ``jwks_uri``; a ``jku``
header must equal that URL); the signature checks out; ``iss`` and ``sub`` are the client id;
``aud`` is our token endpoint; ``exp`` lies in the future but no further than
``AuthConfig.assertion_max_lifetime``; and its ``jti`` was never seen before.
"""

from __future__ import annotations

from fhir_server.auth.clients import Client
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.jose import JwtError, PublicKeys, unverified_header
from fhir_server.auth.ports import Clock, Document, ExpiringStore
from fhir_server.auth.remote_jwks import RemoteKeySets
from fhir_server.errors import InvalidRequest, Unauthorized

ASSERTION_ALGS = ("RS384", "ES384")
_SEEN_JTI = "assertion_jti"
_CLOCK_SKEW = 30


class AssertionVerifier:
    """Checks client assertions and remembers their ``jti`` values."""

    def __init__(
        self, remote: RemoteKeySets, ephemeral: ExpiringStore, clock: Clock, config: AuthConfig
    ) -> None:
        """Create a verifier; ``remote`` serves clients registered with a ``jwks_uri``."""
        self._remote, self._ephemeral, self._clock, self._config = remote, ephemeral, clock, config

    def verify(self, client: Client, assertion: str) -> None:
        """Accept the assertion as proof that the caller holds one of the client's keys.

        Raises:
            Unauthorized: ``invalid_client`` when any check fails (the reason says which).
        """
        try:
            verified = self._keys(client, unverified_header(assertion)).verify(
                assertion, ASSERTION_ALGS
            )
        except (JwtError, InvalidRequest) as exc:
            raise _invalid(str(exc)) from exc
        claims = verified.claims
        self._check_claims(client.client_id, claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _invalid("the assertion has no jti")
        if not self._ephemeral.add_once(_SEEN_JTI, f"{client.client_id} {jti}", claims["exp"]):
            raise _invalid("the assertion's jti was already used")

    def _keys(self, client: Client, header: Document) -> PublicKeys:
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise JwtError("the assertion has no kid")
        if header.get("jku", client.jwks_uri) != client.jwks_uri:
            raise JwtError("the jku header is not the registered jwks_uri")
        if client.jwks_uri is not None:
            return self._remote.get(client.jwks_uri, kid)
        if client.jwks is None:
            raise JwtError("the client has no registered keys")
        return PublicKeys(client.jwks)

    def _check_claims(self, client_id: str, claims: Document) -> None:
        now = self._clock()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise _invalid("iss and sub must both be the client_id")
        audience = claims.get("aud")
        if self._config.token_url not in (audience if isinstance(audience, list) else [audience]):
            raise _invalid(f"aud must be the token endpoint {self._config.token_url}")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise _invalid("the assertion expired or has no exp")
        if exp > now + self._config.assertion_max_lifetime + _CLOCK_SKEW:
            raise _invalid("exp lies more than five minutes ahead")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > now + _CLOCK_SKEW:
            raise _invalid("the assertion is not valid yet")


def _invalid(why: str) -> Unauthorized:
    return Unauthorized(f"client assertion rejected: {why}", code="invalid_client")
