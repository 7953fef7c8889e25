"""Vendor timestamps (ISO 8601 text, epoch seconds or milliseconds) as FHIR dateTime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fhir_server.ingest.spec import MappingError

TimestampFormat = Literal["iso8601", "epoch_s", "epoch_ms"]


def parse_timestamp(value: Any, fmt: TimestampFormat, zone: str, where: str) -> datetime:
    """A payload timestamp as an aware datetime.

    Args:
        value: the value the timestamp expression produced.
        fmt: how the vendor writes timestamps.
        zone: the IANA zone of ISO timestamps written without an offset.
        where: the template field, for errors.

    Raises:
        MappingError: when the value is missing or not a timestamp of that format.
    """
    if value is None or isinstance(value, bool):
        raise MappingError(f"no timestamp at {where}", code="required-missing", location=where)
    try:
        if fmt == "iso8601":
            parsed = datetime.fromisoformat(str(value))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))
        seconds = float(value) / (1000 if fmt == "epoch_ms" else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MappingError(
            f"{value!r} is not an {fmt} timestamp", code="invalid-value", location=where
        ) from exc


def to_fhir(moment: datetime) -> str:
    """An aware datetime as a FHIR dateTime (seconds, or finer when the source was)."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def canonical(moment: datetime) -> str:
    """The same instant, in UTC: equal instants give equal keys whatever their offset."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
