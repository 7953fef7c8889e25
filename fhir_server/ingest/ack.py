"""HL7 v2 acknowledgements (original mode): MSA AA, or AE/AR with an ERR segment.

AR (rejected) when the message cannot be parsed or its type or version is not handled;
AE (error) when it parsed but could not be mapped or written. The ERR segment carries the
HL7 table 0357 code and the location; its layout follows the message's version (ERR-1 ELD
up to v2.4, ERR-2/3/4/8 from v2.5 on). https://hl7-definition.caristix.com/v2/HL7v2.5.1/Segments/ERR
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import count
from typing import Any, Literal

from fhir_server.ingest.msh import Header

AckCode = Literal["AA", "AE", "AR"]

_REJECT = frozenset({"malformed", "unsupported-message", "unsupported-version"})
_TABLE_0357 = {
    "malformed": ("102", "Data type error"),
    "unsupported-message": ("200", "Unsupported message type"),
    "unsupported-version": ("203", "Unsupported version id"),
    "required-missing": ("101", "Required field missing"),
    "invalid-value": ("102", "Data type error"),
    "unknown-code": ("103", "Table value not found"),
    "unresolved-reference": ("204", "Unknown key identifier"),
    "ambiguous-reference": ("205", "Duplicate key identifier"),
}
_INTERNAL = ("207", "Application internal error")
_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+)(?:\.(\d+))?)?$")
_DEFAULT = Header("|", "^~\\&", ("MSH", "|", "^~\\&"))
_control_ids = count(1)


def ack_code(error: dict[str, Any] | None) -> AckCode:
    """AA without an error; AR for unparseable or unsupported messages; AE otherwise."""
    if error is None:
        return "AA"
    return "AR" if error.get("code") in _REJECT else "AE"


def _escape(text: str, header: Header) -> str:
    component, repetition = header.encoding[0], header.encoding[1]
    escape, sub = header.encoding[2], header.encoding[3]
    pairs = ((escape, "E"), (header.field_sep, "F"), (component, "S"), (repetition, "R"))
    escaped = text.replace("\r", " ").replace("\n", " ")
    for char, code in (*pairs, (sub, "T")):
        escaped = escaped.replace(char, f"{escape}{code}{escape}")
    return escaped


def _position(location: str | None) -> tuple[str, str, str, str]:
    """Segment, occurrence, field and component of a location such as ``OBX[2]-5.1``."""
    match = _LOCATION.match(location or "")
    if match is None:
        return ("", "", "", "")
    segment, occurrence, field, component = match.groups()
    return (segment, occurrence or "1", field or "", component or "")


def _old_version(version: str) -> bool:
    numbers = [int(p) for p in re.findall(r"\d+", version)[:2]] or [2, 5]
    return numbers < [2, 5]


def _err(header: Header, error: dict[str, Any]) -> str:
    f, c, s = header.field_sep, header.encoding[0], header.encoding[3]
    code, text = _TABLE_0357.get(str(error.get("code")), _INTERNAL)
    reason = _escape(str(error.get("reason", "")), header)
    segment, occurrence, field, component = _position(error.get("location"))
    if _old_version(header.version):  # ERR-1 ELD: segment^sequence^field^code&text&table
        return f"ERR{f}" + c.join((segment, occurrence, field, s.join((code, text, "HL70357"))))
    erl = c.join((segment, occurrence, field, "", component)).rstrip(c)
    cwe = c.join((code, text, "HL70357"))
    return f"ERR{f}{f}{erl}{f}{cwe}{f}E{f}{f}{f}{f}{reason}"


def build_ack(header: Header | None, error: dict[str, Any] | None) -> bytes:
    """The ACK answering a message with ``header`` (None: an unparseable message)."""
    h = header or _DEFAULT
    f = h.field_sep
    code = ack_code(error)
    event = h.get(9).split("^")[1] if "^" in h.get(9) else ""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    version = h.version or "2.5.1"
    msh = f.join(
        (
            "MSH",
            h.encoding,
            h.get(5).replace("^", h.encoding[0]),
            h.get(6).replace("^", h.encoding[0]),
            h.get(3).replace("^", h.encoding[0]),
            h.get(4).replace("^", h.encoding[0]),
            now,
            "",
            h.encoding[0].join(("ACK", event, "ACK")) if event else "ACK",
            f"ACK{now}{next(_control_ids):06d}",
            h.get(11) or "P",
            version,
        )
    )
    msa = ["MSA", code, h.control_id]
    if error is not None and _old_version(version):
        msa.append(_escape(str(error.get("reason", "")), h))
    segments = [msh, f.join(msa)]
    if error is not None:
        segments.append(_err(h, error))
    return ("\r".join(segments) + "\r").encode()
