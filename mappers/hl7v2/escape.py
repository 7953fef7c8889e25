r"""HL7 v2 escape sequences (v2.5.1 chapter 2.7), decoded after a field has been split.

``\F\ \S\ \T\ \R\ \E\`` (and ``\P\``, the v2.7 truncation character) stand for the
message's own delimiters; ``\Xhh..\`` is hexadecimal data; ``\.br\`` is a line break in
formatted text. Highlighting (``\H\ \N\``), other formatting commands (``\.sp\``,
``\.in\``...), character-set switches (``\C..\ \M..\``) and locally defined ``\Z..\``
sequences carry no text and are dropped. An unknown or unterminated sequence is kept as
written so no data is lost. The escape character is whatever MSH-2 declares.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mappers.hl7v2._hl7apy import Delimiters

_DROPPED = re.compile(
    r"^(H|N|\.(sp|fi|nf|in|ti|sk|ce)[+-]?\d*|C[0-9A-Fa-f]{4}|M[0-9A-Fa-f]{6}|Z.*)$"
)


@lru_cache(maxsize=16)
def _pattern(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(f"{e}([^{e}\r]*){e}")


def _hex(body: str) -> str | None:
    try:
        data = bytes.fromhex(body)
    except ValueError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _replacement(body: str, d: Delimiters) -> str | None:
    named = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition}
    named["E"] = d.escape
    if d.truncation:
        named["P"] = d.truncation
    if body in named:
        return named[body]
    if body == ".br":
        return "\n"
    if body.startswith("X"):
        return _hex(body[1:])
    if _DROPPED.match(body):
        return ""
    return None


def unescape(text: str, d: Delimiters) -> str:
    """``text`` with every escape sequence of the message's escape character decoded."""
    if d.escape not in text:
        return text

    def decode(match: re.Match[str]) -> str:
        replacement = _replacement(match.group(1), d)
        return match.group(0) if replacement is None else replacement

    return _pattern(d.escape).sub(decode, text)
