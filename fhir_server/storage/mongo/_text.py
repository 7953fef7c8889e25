"""String matching for the compiler: index-friendly prefix ranges and escaped substrings.

Search values arrive normalised by the parser (``fhir_server.search._text.normalize``), the
same rule that built ``StringEntry.normalized`` and ``TokenEntry.text``, so the compiler
compares them as they are.
"""

from __future__ import annotations

import re
from typing import Any

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def starts_with(field: str, prefix: str) -> dict[str, Any]:
    """``field`` starts with ``prefix``, as a range ``[prefix, successor)`` when possible.

    A range on the plain string uses an index as well as an anchored regex would, and needs
    no escaping; BSON compares strings by UTF-8 bytes, which is code-point order, so the
    range holds exactly the strings that start with ``prefix``.
    """
    if not prefix:
        return {}
    upper = _successor(prefix)
    if upper is None:
        return {field: {"$regex": "^" + re.escape(prefix)}}
    return {field: {"$gte": prefix, "$lt": upper}}


def contains(field: str, fragment: str) -> dict[str, Any]:
    """``field`` contains ``fragment`` literally (escaped, so no pattern syntax applies)."""
    return {field: {"$regex": re.escape(fragment)}}


def _successor(prefix: str) -> str | None:
    last = ord(prefix[-1])
    if last == _MAX_CODE_POINT:
        return None
    following = last + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return prefix[:-1] + chr(following)
