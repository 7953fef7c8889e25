"""Vendor timestamps (ISO 8601 text, epoch seconds or milliseconds), periods and durations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def time_zone(value: Any, where: str) -> str:
    """The IANA time zone a payload names.

    Raises:
        MappingError: when the value is missing or not a known zone.
    """
    if value is None:
        raise MappingError(f"no time zone at {where}", code="required-missing", location=where)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise MappingError(
            f"{value!r} is not a known time zone", code="invalid-value", location=where
        ) from exc
    return str(value)


def to_fhir(moment: datetime) -> str:
    """An aware datetime as a FHIR dateTime (seconds, or finer when the source was)."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def canonical(moment: datetime) -> str:
    """The same instant, in UTC: equal instants give equal keys whatever their offset."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 1e-3,
    "s": 1,
    "sec": 1,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "wk": 7 * 86400,
    "mo": 30.4375 * 86400,  # UCUM mo_j, the mean Julian month
    "Mo": 30.4375 * 86400,
    "a": 365.25 * 86400,  # UCUM a_j, the mean Julian year
    "yr": 365.25 * 86400,
}


def parse_duration(value: Any, where: str) -> timedelta:
    """A ``{value, unit}`` duration as a timedelta.

    Units: ``ms``, ``s``/``sec``, ``min``, ``h``, ``d``, ``wk``, ``mo``/``Mo``, ``a``/``yr``.

    Raises:
        MappingError: when it is not such an object, negative or in another unit.
    """
    amount = value.get("value") if isinstance(value, dict) else None
    unit = value.get("unit") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        raise MappingError(
            f"{value!r} is not a duration {{value, unit}}", code="invalid-value", location=where
        )
    if unit not in _SECONDS_PER_UNIT:
        raise MappingError(
            f"duration unit {unit!r} is not one of {', '.join(_SECONDS_PER_UNIT)}",
            code="invalid-value",
            location=where,
        )
    try:
        return timedelta(seconds=amount * _SECONDS_PER_UNIT[unit])
    except OverflowError as exc:
        raise MappingError(
            f"duration {value!r} is too long", code="invalid-value", location=where
        ) from exc


@dataclass(frozen=True, slots=True)
class When:
    """When a reading was taken: an instant (``end`` is None) or a period."""

    start: datetime | None
    end: datetime | None = None
    instant: bool = True

    def to_fhir(self) -> dict[str, Any]:
        """``effectiveDateTime`` or ``effectivePeriod``."""
        if self.instant:
            assert self.start is not None  # an instant always has its moment
            return {"effectiveDateTime": to_fhir(self.start)}
        period = {"start": self.start, "end": self.end}
        return {"effectivePeriod": {k: to_fhir(v) for k, v in period.items() if v is not None}}

    def key(self) -> str:
        """The offset-independent form used in deterministic identifiers.

        An instant keeps the form readings have always had, so their identifiers never change.
        """
        if self.instant:
            assert self.start is not None
            return canonical(self.start)
        return "/".join(canonical(m) if m is not None else "" for m in (self.start, self.end))


def period(
    start: datetime | None, end: datetime | None, duration: timedelta | None, where: str
) -> When:
    """The period from its known parts: a missing bound is computed from the duration.

    Raises:
        MappingError: when neither bound is known, or the period ends before it starts.
    """
    try:
        if start is not None and end is None and duration is not None:
            end = start + duration
        elif end is not None and start is None and duration is not None:
            start = end - duration
    except OverflowError as exc:
        raise MappingError(
            "the period is out of range", code="invalid-value", location=where
        ) from exc
    if start is None and end is None:
        raise MappingError(f"no timestamp at {where}", code="required-missing", location=where)
    if start is not None and end is not None and end < start:
        raise MappingError("the period ends before it starts", code="invalid-value", location=where)
    return When(start, end, instant=False)
