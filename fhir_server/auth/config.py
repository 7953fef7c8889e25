"""Settings of the authorization server, independent of where they come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SigningAlg = Literal["RS256", "ES256"]


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """What the authorization server needs to know about itself.

    Attributes:
        fhir_base_url: the FHIR base URL, e.g. ``https://host/fhir``: the only accepted
            ``aud`` of authorize requests and the ``aud`` of every access token.
        issuer: the authorization server's base URL, e.g. ``https://host/auth``: the ``iss``
            of every token; endpoints are ``<issuer>/authorize``, ``/token``, ...
        signing_alg: algorithm of our own tokens (RS256 is the OpenID Connect default).
        access_token_ttl: access token lifetime in seconds.
        id_token_ttl: id_token lifetime in seconds.
        code_ttl: authorization code lifetime in seconds.
        pending_ttl: how long a user may take to log in and consent, in seconds.
        launch_ttl: EHR launch value lifetime in seconds.
        offline_refresh_ttl: refresh token lifetime for ``offline_access``.
        online_refresh_ttl: refresh token lifetime for ``online_access``.
        replay_memory: how long used codes and refresh tokens are remembered to detect replay.
        assertion_max_lifetime: the furthest a client assertion's ``exp`` may lie ahead.
        jwks_hosts: hosts a client's ``jwks_uri`` may point to (nothing else is fetched).
        smart_style_url: sent as ``smart_style_url`` in token responses when set.
    """

    fhir_base_url: str
    issuer: str
    signing_alg: SigningAlg = "RS256"
    access_token_ttl: int = 300
    id_token_ttl: int = 300
    code_ttl: int = 60
    pending_ttl: int = 600
    launch_ttl: int = 300
    offline_refresh_ttl: int = 90 * 24 * 3600
    online_refresh_ttl: int = 8 * 3600
    replay_memory: int = 3600
    assertion_max_lifetime: int = 300
    jwks_hosts: frozenset[str] = field(default_factory=frozenset)
    smart_style_url: str | None = None

    @property
    def authorize_url(self) -> str:
        """The authorization endpoint."""
        return f"{self.issuer}/authorize"

    @property
    def token_url(self) -> str:
        """The token endpoint: the required ``aud`` of client assertions."""
        return f"{self.issuer}/token"

    @property
    def introspect_url(self) -> str:
        """The RFC 7662 introspection endpoint."""
        return f"{self.issuer}/introspect"

    @property
    def revoke_url(self) -> str:
        """The RFC 7009 revocation endpoint."""
        return f"{self.issuer}/revoke"

    @property
    def jwks_url(self) -> str:
        """Where our public signing keys are published."""
        return f"{self.issuer}/jwks"
