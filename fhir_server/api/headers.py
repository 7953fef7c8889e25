"""Request header parsing: If-Match, If-None-Exist, Prefer. https://hl7.org/fhir/R4/http.html"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fhir_server.errors import InvalidRequest

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def parse_if_match(value: str | None) -> int | None:
    """The version number in ``If-Match: W/"n"``; None when absent."""
    if value is None:
        return None
    match = _ETAG.match(value)
    if match is None:
        raise InvalidRequest(f'Malformed If-Match header {value!r}; expected W/"<version>"')
    return int(match.group(1))


def parse_condition(value: str) -> list[tuple[str, str]]:
    """The search pairs of an If-None-Exist header or conditional URL query."""
    query = value.split("?", 1)[1] if "?" in value else value
    return parse_qsl(query, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class Prefer:
    """The parts of the Prefer header the server honours."""

    returns: str = "representation"
    strict: bool = False


def parse_prefer(value: str | None) -> Prefer:
    """Parse ``Prefer: return=minimal|representation|OperationOutcome, handling=strict``."""
    returns, strict = "representation", False
    for part in re.split(r"[;,]", value or ""):
        key, _, raw = part.strip().partition("=")
        val = raw.strip().strip('"')
        if key == "return" and val in ("minimal", "representation", "OperationOutcome"):
            returns = val
        elif key == "handling":
            strict = val == "strict"
    return Prefer(returns, strict)
