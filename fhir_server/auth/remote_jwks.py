"""Client key sets published by URL: the host allowlist, fetching and caching.

A ``jwks_uri`` is fetched only when its host is in ``AuthConfig.jwks_hosts`` and it uses
https (plain http is accepted for loopback hosts only, for local development).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from ipaddress import ip_address
from urllib.parse import urlsplit

from fhir_server.auth.jose import JwtError, PublicKeys
from fhir_server.auth.ports import Clock, Document, JwksFetcher
from fhir_server.errors import InvalidRequest

_MAX_BYTES = 256 * 1024


def check_jwks_url(url: str, hosts: frozenset[str]) -> None:
    """Refuse a ``jwks_uri`` outside the allowlist.

    Raises:
        InvalidRequest: the URL is not https (or http on loopback) or its host is not allowed.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host not in hosts:
        raise InvalidRequest(f"jwks_uri host {host!r} is not an allowed JWKS host")
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        raise InvalidRequest("jwks_uri must use https")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class UrllibJwksFetcher:
    """Fetches a JWKS with the standard library: no redirects, a timeout, a size limit."""

    def __init__(self, timeout: float = 5.0) -> None:
        """Create a fetcher waiting at most ``timeout`` seconds."""
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._timeout = timeout

    def __call__(self, url: str) -> Document:
        """The parsed JWKS at ``url``."""
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with self._opener.open(request, timeout=self._timeout) as response:
            body = response.read(_MAX_BYTES + 1)
        if len(body) > _MAX_BYTES:
            raise ValueError(f"JWKS at {url} is larger than {_MAX_BYTES} bytes")
        parsed = json.loads(body)
        if not isinstance(parsed, dict):
            raise ValueError(f"JWKS at {url} is not a JSON object")
        return parsed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could leave the allowlisted host: treat it as a failure."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        """Follow no redirect."""
        return None


class RemoteKeySets:
    """Fetched client key sets, cached for ``ttl`` seconds.

    An unknown ``kid`` triggers a refetch (the client rotated its keys), but at most once
    every ``min_refetch`` seconds per URL, so forged ``kid`` values cannot make us hammer a host.
    """

    def __init__(
        self,
        fetcher: JwksFetcher,
        clock: Clock,
        hosts: frozenset[str],
        *,
        ttl: float = 300.0,
        min_refetch: float = 10.0,
    ) -> None:
        """Create an empty cache in front of ``fetcher``."""
        self._fetcher, self._clock, self._hosts = fetcher, clock, hosts
        self._ttl, self._min_refetch = ttl, min_refetch
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, PublicKeys]] = {}

    def get(self, url: str, kid: str) -> PublicKeys:
        """The key set at ``url``, refetched when stale or when it lacks ``kid``.

        Raises:
            InvalidRequest: the URL is not allowed.
            JwtError: the key set cannot be fetched or is not a JWKS.
        """
        check_jwks_url(url, self._hosts)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            age = now - cached[0]
            if age < self._ttl and (cached[1].has(kid) or age < self._min_refetch):
                return cached[1]
        try:
            keys = PublicKeys(self._fetcher(url))
        except (OSError, ValueError) as exc:
            raise JwtError(f"cannot fetch JWKS from {url}: {exc}") from exc
        with self._lock:
            self._cache[url] = (now, keys)
        return keys
