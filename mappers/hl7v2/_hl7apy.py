r"""The typed boundary around hl7apy, which ships no type hints.

hl7apy reads the message header: the encoding characters declared in MSH-1/MSH-2 (with
its checks for missing, duplicate and v2.7 truncation characters), the message structure
and the version, and it knows which versions it has definitions for. Its full element
tree is not used for field access: building it costs about 10 ms for a seven-segment
ORU^R01 (measured with hl7apy 1.3.5), which alone would cap MLLP ingestion near 100
messages/s, so ``segments`` splits fields itself once the header is known.

Senders of v2.5.1 public-health messages commonly declare the v2.7 truncation character
anyway (``MSH|^~\&#|``, e.g. CDC ELR feeds); hl7apy refuses five encoding characters
before v2.7, so such a header is read with the fifth taken as the truncation character.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hl7apy import SUPPORTED_LIBRARIES
from hl7apy.exceptions import HL7apyException, InvalidEncodingChars
from hl7apy.parser import get_message_info

from fhir_server.ingest.spec import MappingError, SegmentLocation


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The encoding characters of one message (MSH-1 and MSH-2)."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    truncation: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """What hl7apy reads from the MSH segment."""

    delimiters: Delimiters
    structure: str | None
    version: str | None


def read_header(text: str) -> Header:
    """Read the delimiters, structure and version of an ER7 message.

    Args:
        text: the message, segments separated by carriage returns.

    Raises:
        MappingError: when MSH is missing or declares unusable encoding characters.
    """
    truncation = None
    try:
        try:
            chars, structure, version = get_message_info(text)
        except InvalidEncodingChars:
            declared = _five_encoding_characters(text)
            if declared is None:
                raise
            truncation = declared[4]
            chars, structure, version = get_message_info(text[:4] + declared[:4] + text[9:])
    except InvalidEncodingChars as exc:
        raise MappingError(
            f"invalid encoding characters: {exc}",
            code="malformed",
            location=SegmentLocation("MSH", field=2),
        ) from exc
    except (HL7apyException, IndexError, ValueError) as exc:
        raise MappingError(
            f"not an HL7 v2 message: {exc}", code="malformed", location=SegmentLocation("MSH")
        ) from exc
    if "TRUNCATION" in chars:
        truncation = str(chars["TRUNCATION"])
    delimiters = _delimiters(
        str(chars["FIELD"]),
        str(chars["COMPONENT"]),
        str(chars["REPETITION"]),
        str(chars["ESCAPE"]),
        str(chars["SUBCOMPONENT"]),
        truncation,
    )
    return Header(
        delimiters, str(structure) if structure else None, str(version) if version else None
    )


@lru_cache(maxsize=16)
def _delimiters(
    field: str,
    component: str,
    repetition: str,
    escape: str,
    subcomponent: str,
    truncation: str | None,
) -> Delimiters:
    """The one Delimiters of each set of encoding characters (most feeds use one set)."""
    return Delimiters(field, component, repetition, escape, subcomponent, truncation)


def _five_encoding_characters(text: str) -> str | None:
    """MSH-2 when it declares five distinct encoding characters (the v2.7 layout)."""
    separator = text[3:4]
    encoding = text[4:].split(separator, 1)[0] if separator else ""
    if len(encoding) != 5 or len(set(encoding + separator)) != 6:
        return None
    return encoding


def has_definitions(version: str) -> bool:
    """True when hl7apy has the message definitions of ``version`` (e.g. ``2.5.1``)."""
    return version in SUPPORTED_LIBRARIES
