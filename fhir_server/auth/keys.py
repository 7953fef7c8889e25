"""Our signing keys: generated on first use, persisted, rotated without breaking live tokens.

A rotation retires the current key and creates a new one; a retired key stays in the JWKS
(and keeps verifying) for ``retain`` seconds, at least the lifetime of the longest token it
signed, and is deleted after that.
"""

from __future__ import annotations

import threading

from fhir_server.auth.jose import PrivateKey, PublicKeys
from fhir_server.auth.ports import AuthStore, Clock, Document

COLLECTION = "signing_keys"


class KeyRing:
    """The signing key in use and the public keys tokens are verified with."""

    def __init__(self, store: AuthStore, clock: Clock, alg: str, retain: int) -> None:
        """Create a key ring over ``store``.

        Args:
            store: where keys are persisted (collection ``signing_keys``).
            clock: the time source.
            alg: the algorithm of new keys; an active key of another algorithm is rotated out.
            retain: seconds a retired key stays published and usable for verification.
        """
        self._store, self._clock, self._alg, self._retain = store, clock, alg, retain
        self._lock = threading.Lock()
        self._cached: tuple[PrivateKey, PublicKeys] | None = None
        self._kids: frozenset[str] = frozenset()

    def signing_key(self) -> PrivateKey:
        """The active private key, generated and persisted on first use."""
        return self._loaded()[0]

    def public_keys(self) -> PublicKeys:
        """Every key our live tokens may be signed with."""
        return self._loaded()[1]

    def jwks(self) -> Document:
        """The public JWKS document to publish at the ``jwks_uri``."""
        self._loaded()
        with self._lock:
            return {"keys": [_public(doc) for _, doc in self._live()]}

    def rotate(self) -> PrivateKey:
        """Retire the active key and start signing with a new one."""
        with self._lock:
            self._rotate()
            return self._build()[0]

    def _loaded(self) -> tuple[PrivateKey, PublicKeys]:
        """The cached keys, rebuilt when the stored key set changed (another process rotated)."""
        with self._lock:
            kids = frozenset(kid for kid, _ in self._store.items(COLLECTION))
            if self._cached is None or kids != self._kids:
                self._cached = self._build()
                self._kids = frozenset(kid for kid, _ in self._store.items(COLLECTION))
            return self._cached

    def _build(self) -> tuple[PrivateKey, PublicKeys]:
        active = [doc for _, doc in self._live() if doc["retired_at"] is None]
        if not active or active[0]["jwk"]["alg"] != self._alg:
            self._rotate()
            active = [doc for _, doc in self._live() if doc["retired_at"] is None]
        jwks = {"keys": [_public(doc) for _, doc in self._live()]}
        self._cached = (PrivateKey.from_jwk(active[0]["jwk"]), PublicKeys(jwks))
        return self._cached

    def _rotate(self) -> None:
        now = self._clock()
        for kid, doc in self._store.items(COLLECTION):
            if doc["retired_at"] is None:
                self._store.put(COLLECTION, kid, {**doc, "retired_at": now})
        key = PrivateKey.generate(self._alg)
        self._store.put(
            COLLECTION, key.kid, {"jwk": key.to_jwk(), "created_at": now, "retired_at": None}
        )
        self._cached = None

    def _live(self) -> list[tuple[str, Document]]:
        """Active and still-retained keys; deletes keys retired longer than ``retain``."""
        cutoff = self._clock() - self._retain
        live = []
        for kid, doc in self._store.items(COLLECTION):
            if doc["retired_at"] is not None and doc["retired_at"] < cutoff:
                self._store.pop(COLLECTION, kid)
            else:
                live.append((kid, doc))
        return live


def _public(doc: Document) -> Document:
    return PrivateKey.from_jwk(doc["jwk"]).public_jwk()
