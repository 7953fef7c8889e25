"""The one module that touches the JOSE library (joserfc, the typed successor of authlib.jose).

Every other module signs and verifies through ``PrivateKey`` and ``PublicKeys``, so the
library can be swapped here alone. Verification always pins the accepted algorithms (never
``none``, never an HMAC algorithm against a public key) and requires a ``kid``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key
from joserfc.jws import extract_compact

from fhir_server.auth.ports import Document

_CURVES = {"ES256": "P-256", "ES384": "P-384"}


class JwtError(ValueError):
    """A token or key that cannot be used: malformed, unsigned, forged or of a wrong kind."""


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A private signing key with its ``kid`` and algorithm."""

    key: RSAKey | ECKey
    alg: str

    @property
    def kid(self) -> str:
        """The key id (RFC 7638 thumbprint)."""
        return str(self.key.kid)

    @classmethod
    def generate(cls, alg: str) -> PrivateKey:
        """A new key for ``alg`` (RS256/RS384: RSA 2048; ES256/ES384: the matching curve)."""
        parameters: Any = {"alg": alg, "use": "sig"}
        if alg in _CURVES:
            key: RSAKey | ECKey = ECKey.generate_key(_CURVES[alg], parameters, private=True)
        else:
            key = RSAKey.generate_key(2048, parameters, private=True)
        key.ensure_kid()
        return cls(key, alg)

    @classmethod
    def from_jwk(cls, jwk: Document) -> PrivateKey:
        """Load a private JWK as written by ``to_jwk``."""
        key = import_key(jwk)
        if not isinstance(key, RSAKey | ECKey) or not key.is_private:
            raise JwtError("not a private RSA or EC key")
        return cls(key, str(jwk["alg"]))

    def to_jwk(self) -> Document:
        """The private JWK (to persist)."""
        return dict(self.key.as_dict(private=True))

    def public_jwk(self) -> Document:
        """The public JWK (to publish)."""
        return dict(self.key.as_dict(private=False))

    def sign(self, claims: Document, *, typ: str) -> str:
        """A compact JWS of ``claims`` with header ``alg``, ``kid`` and ``typ``."""
        header = {"alg": self.alg, "kid": self.kid, "typ": typ}
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])


@dataclass(frozen=True, slots=True)
class Verified:
    """A token whose signature checked out."""

    header: Document
    claims: Document


class PublicKeys:
    """A set of public keys that tokens are verified against."""

    __slots__ = ("_keys",)

    def __init__(self, jwks: Document) -> None:
        """Load a JWKS document (``{"keys": [...]}``).

        Raises:
            JwtError: when the document is not a usable key set.
        """
        try:
            self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise JwtError(f"unusable JWKS: {exc}") from exc

    def has(self, kid: str) -> bool:
        """True when a key with this ``kid`` is in the set."""
        return any(key.kid == kid for key in self._keys)

    def verify(self, token: str, algorithms: Collection[str]) -> Verified:
        """Check the signature of a compact JWS and return its header and claims.

        Raises:
            JwtError: malformed, not one of ``algorithms``, no ``kid``, unknown key, or forged.
        """
        header = unverified_header(token)
        if header.get("alg") not in algorithms:
            raise JwtError(f"algorithm {header.get('alg')!r} is not accepted")
        if not isinstance(header.get("kid"), str):
            raise JwtError("the token has no kid")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=list(algorithms))
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise JwtError(f"signature check failed: {exc}") from exc
        return Verified(dict(decoded.header), dict(decoded.claims))


def unverified_header(token: str) -> Document:
    """The JOSE header of a compact JWS, signature not checked."""
    return _extract(token)[0]


def unverified_claims(token: str) -> Document:
    """The claims of a compact JWT, signature not checked (only to find the signer)."""
    return _extract(token)[1]


def _extract(token: str) -> tuple[Document, Document]:
    try:
        obj = extract_compact(token.encode("ascii"))
        claims = json.loads(obj.payload or b"")
    except (JoseError, ValueError, UnicodeError) as exc:
        raise JwtError(f"malformed token: {exc}") from exc
    if not isinstance(claims, dict):
        raise JwtError("the token's payload is not a JSON object")
    return dict(obj.headers()), claims
