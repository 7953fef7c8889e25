"""Just enough of an HL7 v2 MSH segment to route, key and acknowledge a message.

The full parse belongs to the mappers (hl7apy); a transport only needs the encoding
characters, sender, receiver, message type, control id, processing id and version, and
must get them even from a message the mappers will reject.
https://www.hl7.org/implement/standards/product_brief.cfm?product_id=185 (v2.5.1, 2.15.9)
"""

from __future__ import annotations

from dataclasses import dataclass


class NotHl7(ValueError):
    """The bytes do not start with a usable MSH segment."""


@dataclass(frozen=True, slots=True)
class Header:
    """The MSH fields a transport needs (components joined with ``^``).

    Attributes:
        field_sep: MSH-1.
        encoding: MSH-2 (component, repetition, escape, subcomponent[, truncation]).
        fields: MSH fields by number (MSH-1 is ``fields[1]``).
    """

    field_sep: str
    encoding: str
    fields: tuple[str, ...]

    def get(self, number: int) -> str:
        """MSH-``number`` (first repetition), components joined with ``^``; empty if absent."""
        if number >= len(self.fields):
            return ""
        if number <= 2:
            return self.fields[number]
        value = self.fields[number].split(self.encoding[1])[0]
        return value.replace(self.encoding[0], "^")

    def component(self, number: int, index: int) -> str:
        """Component ``index`` (1-based) of MSH-``number``."""
        parts = self.get(number).split("^")
        return parts[index - 1] if index <= len(parts) else ""

    @property
    def sender(self) -> str:
        """Sending application and facility (MSH-3, MSH-4) as the mappers key them."""
        return f"{_hd(self.get(3))}|{_hd(self.get(4))}"

    @property
    def control_id(self) -> str:
        """MSH-10."""
        return self.get(10)

    @property
    def message_type(self) -> str:
        """MSH-9 code and event, ``ORU^R01``."""
        return "^".join(self.get(9).split("^")[:2]).upper()

    @property
    def version(self) -> str:
        """MSH-12 version id."""
        return self.component(12, 1)

    def key(self) -> str | None:
        """The message key (sender and MSH-10) the HL7 v2 mappers use, if MSH-10 is set."""
        return f"hl7v2|{self.sender}|{self.control_id}" if self.control_id else None


def _hd(value: str) -> str:
    return "^".join(p for p in value.split("^")[:3] if p).strip()


def parse_header(payload: bytes) -> Header:
    """The MSH of ``payload``; :class:`NotHl7` when there is none."""
    text = payload.lstrip(b"\r\n\x0b").decode("utf-8", errors="replace")
    if not text.startswith("MSH") or len(text) < 8:
        raise NotHl7("the message does not start with an MSH segment")
    field_sep = text[3]
    if field_sep.isalnum() or field_sep in "\r\n ":
        raise NotHl7("MSH-1 is not a usable field separator")
    segment = text.replace("\n", "\r").split("\r", 1)[0]
    parts = segment.split(field_sep)
    encoding = parts[1] if len(parts) > 1 else ""
    if len(encoding) < 4 or len(set(encoding[:4] + field_sep)) != 5:
        raise NotHl7("MSH-2 does not hold four distinct encoding characters")
    return Header(field_sep, encoding, ("MSH", field_sep, *parts[1:]))


def looks_like_hl7(payload: bytes) -> bool:
    """True when ``payload`` starts with an MSH segment."""
    return payload.lstrip(b"\r\n\x0b").startswith(b"MSH")
