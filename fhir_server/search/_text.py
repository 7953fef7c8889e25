"""String normalisation and search-value escaping. https://hl7.org/fhir/R4/search.html#escaping

``normalize`` is the one rule behind case- and accent-insensitive string matching: index
entries (``StringEntry.normalized``, ``TokenEntry.text``) and search values pass through it,
so the storage compilers compare normalised text with plain ``=``/prefix/substring tests.
"""

from __future__ import annotations

import unicodedata

_ESCAPABLE = frozenset(",$|\\")


def normalize(text: str) -> str:
    """Lower-case ``text`` and strip accents (NFKD, combining marks removed).

    Examples:
        >>> normalize("Ĉhalmers")
        'chalmers'
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def split_escaped(value: str, separator: str) -> list[str]:
    r"""Split ``value`` on each ``separator`` (one character) not preceded by a backslash.

    Escapes are kept in the parts, so a part can be split again on another separator;
    call ``unescape`` on the final parts.

    Examples:
        >>> split_escaped(r"a\,b,c", ",")
        ['a\\,b', 'c']
    """
    if "\\" not in value:
        return value.split(separator)
    parts: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            current.append(ch)
            current.append(next(chars, ""))
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def unescape(part: str) -> str:
    r"""Remove the backslash before ``\,``, ``\$``, ``\|`` and ``\\``; keep any other backslash."""
    if "\\" not in part:
        return part
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "\\" and i + 1 < len(part) and part[i + 1] in _ESCAPABLE:
            out.append(part[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
