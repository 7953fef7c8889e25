"""What the bind address means for authorization: loopback checks and the derived base URL."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (the only binds where auth may be off)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def derived_base_url(host: str, port: int) -> str:
    """``http://{host}:{port}/fhir``: the ``aud`` tokens are issued for when none is configured."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/fhir"
