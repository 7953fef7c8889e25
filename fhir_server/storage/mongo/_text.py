r"""String matching for the compiler: index-friendly prefix ranges and escaped substrings.

Search values arrive normalised by the parser (``fhir_server.search._text.normalize``), the
same rule that built ``StringEntry.normalized`` and ``TokenEntry.text``, so the compiler
compares them as they are.

Patterns run on the server's PCRE, not Python's ``re``: ``re.escape`` puts a backslash
before every metacharacter, which PCRE also reads as a literal, but leaves NUL as it is,
and mongod refuses any ``$regex`` with an embedded NUL byte ("Regular expression cannot
contain an embedded null byte") or longer than 32764 bytes ("Regular expression is too
long"). So NUL is spelled ``\x00`` and an over-long pattern is the client's 400.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fhir_server.errors import InvalidRequest

_MAX_CODE_POINT: Final = 0x10FFFF
_SURROGATES: Final = range(0xD800, 0xE000)
MAX_PATTERN_BYTES: Final = 32764
"""mongod's ``kMaxPatternSize``: the longest ``$regex`` pattern it compiles."""


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
        return {field: {"$regex": "^" + literal_pattern(prefix)}}
    return {field: {"$gte": prefix, "$lt": upper}}


def contains(field: str, fragment: str) -> dict[str, Any]:
    """``field`` contains ``fragment`` literally (escaped, so no pattern syntax applies)."""
    return {field: {"$regex": literal_pattern(fragment)}}


def literal_pattern(text: str) -> str:
    """A PCRE pattern matching ``text`` literally.

    Raises:
        InvalidRequest: the pattern would exceed what mongod compiles.
    """
    pattern = re.escape(text).replace("\x00", "\\x00")
    if len(pattern.encode()) + 1 > MAX_PATTERN_BYTES:
        raise InvalidRequest("the search value is too long to match", code="value-too-long")
    return pattern


def _successor(prefix: str) -> str | None:
    last = ord(prefix[-1])
    if last == _MAX_CODE_POINT:
        return None
    following = last + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return prefix[:-1] + chr(following)
