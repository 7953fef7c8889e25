"""FHIR ``instant`` values: UTC, millisecond precision, with conversions for storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now() -> datetime:
    """The current UTC time, truncated to milliseconds (what ``meta.lastUpdated`` shows)."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def format_instant(value: datetime) -> str:
    """Render as a FHIR instant, e.g. ``2024-01-01T10:00:00.123+00:00``."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+00:00"


def http_date(value: datetime) -> str:
    """Render as an RFC 9110 HTTP date (``Last-Modified``)."""
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch (exact, for storage)."""
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Inverse of :func:`to_micros`."""
    return _EPOCH + timedelta(microseconds=value)


def to_epoch_seconds(value: datetime) -> float:
    """Seconds since the epoch as a float (date index ranges)."""
    return to_micros(value) / 1_000_000
