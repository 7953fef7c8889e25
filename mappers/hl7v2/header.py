"""What the MSH segment decides for a whole message: its key, sender and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from fhir_server.ingest.spec import MapContext, MappingError, content_key
from mappers.hl7v2.datatypes import authority_system
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Message, parse
from mappers.hl7v2.timestamps import offset_of, zone

PCD01_PROFILES = frozenset({"IHE_PCD_001", "1.3.6.1.4.1.19376.1.6.1.1.1"})


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """Message-wide facts every segment mapper needs.

    Attributes:
        key: the message key: MSH-3, MSH-4 and MSH-10, or the transport's / a content key.
        sender: the sending application and facility, as one string.
        default_system: Identifier.system for identifiers with no assigning authority
            (the sending facility, else the sending application).
        zone: the zone of timestamps that declare no offset.
    """

    key: str
    sender: str
    default_system: str | None
    zone: tzinfo


def _hd(message: Message, field: int) -> str:
    hd = message.msh.first(field)
    return "^".join(p for p in (hd.get(1), hd.get(2), hd.get(3)) if p).strip()


def message_info(
    message: Message, payload: bytes, ctx: MapContext, options: Hl7v2Options
) -> MessageInfo:
    """The message-wide facts of ``message``."""
    msh = message.msh
    sender = f"{_hd(message, 3)}|{_hd(message, 4)}"
    control_id = msh.text(10)
    key = f"hl7v2|{sender}|{control_id}" if control_id else ctx.message_key or content_key(payload)
    default_system = None
    for field in (4, 3):
        hd = msh.first(field)
        default_system = authority_system(hd.get(1), hd.get(2), hd.get(3), options)
        if default_system:
            break
    return MessageInfo(
        key, sender, default_system, offset_of(msh.text(7)) or zone(options.default_timezone)
    )


def is_pcd01(message: Message) -> bool:
    """True for an IHE PCD-01 device message: MSH-21 names the profile, or OBX-3 is MDC."""
    profiles = {rep.get(i).strip() for rep in message.msh.repetitions(21) for i in (1, 3)}
    if profiles & PCD01_PROFILES:
        return True
    return any(obx.text(3, 3).upper() == "MDC" for obx in message.all("OBX"))


def parse_accepted(
    payload: bytes,
    ctx: MapContext,
    options: Hl7v2Options,
    accepted: frozenset[str],
    refusal: str,
) -> tuple[Message, MessageInfo]:
    """Parse ``payload``, refuse it unless MSH-9 is ``accepted``, and read its header facts.

    Raises:
        MappingError: unparseable, or (``unsupported-message``) a type this mapper does not
            handle: ``refusal`` completes "<type> is ...".
    """
    message = parse(payload)
    if message.message_type not in accepted:
        raise MappingError(
            f"{message.message_type} is {refusal}",
            code="unsupported-message",
            location=message.msh.location(9),
        )
    return message, message_info(message, payload, ctx, options)
