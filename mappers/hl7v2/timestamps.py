"""HL7 v2 TS/DTM values as FHIR ``date``, ``dateTime`` and ``instant``.

``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`` (v2.5.1 2A.3.22). FHIR requires an
offset as soon as a time is given, so a value without one takes the offset the message
header (MSH-7) declares, else the configured default zone; precision is kept (a value to
the minute gets ``:00`` seconds, the least FHIR accepts).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from fhir_server.ingest.spec import MappingError, SegmentLocation

_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?P<f>\.\d{1,4})?(?P<z>[+-]\d{4})?$"
)


def _invalid(value: str, where: SegmentLocation) -> MappingError:
    return MappingError(f"{value!r} is not an HL7 timestamp", code="invalid-value", location=where)


@lru_cache(maxsize=256)
def offset_of(value: str) -> tzinfo | None:
    """The UTC offset a timestamp declares, if any and valid.

    FHIR accepts offsets from -14:00 to +14:00 with minutes 00-59; anything else (``+2400``,
    ``+0575``) is no offset at all here, and :func:`to_datetime` rejects the value.
    """
    match = _TS.match(value.strip())
    if match is None or match["z"] is None:
        return None
    return _offset(match["z"])


@lru_cache(maxsize=64)
def _offset(z: str) -> tzinfo | None:
    """A ``+HHMM``/``-HHMM`` offset; None when it is out of FHIR's range."""
    hours, minutes = int(z[1:3]), int(z[3:5])
    if minutes > 59 or hours * 60 + minutes > 14 * 60:
        return None
    total = hours * 60 + minutes
    return timezone(timedelta(minutes=-total if z[0] == "-" else total))


@lru_cache(maxsize=1024)
def _date_text(value: str) -> str | None:
    """The FHIR date of ``value``; None when it is not a valid timestamp."""
    match = _TS.match(value.strip())
    if match is None:
        return None
    y, mo, d = match["y"], match["mo"], match["d"]
    try:
        datetime(int(y), int(mo or 1), int(d or 1))
    except ValueError:
        return None
    return "-".join(p for p in (y, mo, d) if p)


@lru_cache(maxsize=1024)
def _datetime_text(value: str, default: tzinfo) -> str | None:
    """The FHIR dateTime of ``value``; None when it is not a valid timestamp."""
    match = _TS.match(value.strip())
    if match is None:
        return None
    if match["h"] is None:
        return _date_text(value)
    z = match["z"]
    zone = default if z is None else _offset(z)
    if zone is None:
        return None  # an offset out of range
    try:
        local = datetime(
            int(match["y"]),
            int(match["mo"] or 1),
            int(match["d"] or 1),
            int(match["h"]),
            int(match["mi"] or 0),
            int(match["s"] or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    text = local.isoformat(timespec="seconds")
    return text[:19] + (match["f"] or "") + text[19:]


def to_date(value: str, where: SegmentLocation) -> str:
    """A TS as a FHIR ``date`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``)."""
    text = _date_text(value)
    if text is None:
        raise _invalid(value, where)
    return text


def to_datetime(value: str, where: SegmentLocation, default: tzinfo) -> str:
    """A TS as a FHIR ``dateTime``; an offset is added when the value has a time.

    Conversions are memoised: a message repeats the same few timestamps (OBR-7, OBX-14).

    Args:
        value: the HL7 timestamp.
        where: its location, for errors.
        default: the zone of a timestamp that declares no offset.
    """
    text = _datetime_text(value, default)
    if text is None:
        raise _invalid(value, where)
    return text


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The tzinfo of an IANA zone name."""
    return ZoneInfo(name)
