"""User password hashing with scrypt (stdlib ``hashlib.scrypt``, a memory-hard KDF).

Why scrypt and not argon2: it is in the standard library (no native dependency), it is
memory-hard, and OWASP lists it with N=2^17, r=8, p=1 (128 MiB per hash) as an accepted
choice. The parameters travel inside each hash, so they can be raised later and old hashes
still verify::

    scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

_SCHEME = "scrypt"
_LENGTH = 32


@dataclass(frozen=True, slots=True)
class PasswordHasher:
    """Hashes and verifies passwords.

    Attributes:
        log2_n: scrypt CPU/memory cost as a power of two (17: 128 MiB with r=8).
        r: scrypt block size.
        p: scrypt parallelism.
    """

    log2_n: int = 17
    r: int = 8
    p: int = 1

    def hash(self, password: str) -> str:
        """A new salted hash of ``password``."""
        salt = secrets.token_bytes(16)
        derived = _scrypt(password, salt, self.log2_n, self.r, self.p)
        return "$".join(
            [_SCHEME, str(self.log2_n), str(self.r), str(self.p), _b64(salt), _b64(derived)]
        )

    def verify(self, password: str, encoded: str) -> bool:
        """True when ``password`` matches ``encoded`` (constant-time comparison)."""
        try:
            scheme, log2_n, r, p, salt, expected = encoded.split("$")
            if scheme != _SCHEME:
                return False
            derived = _scrypt(password, _unb64(salt), int(log2_n), int(r), int(p))
        except ValueError:
            return False
        return hmac.compare_digest(derived, _unb64(expected))


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=2 * 128 * r * n * p + (1 << 20),
        dklen=_LENGTH,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
