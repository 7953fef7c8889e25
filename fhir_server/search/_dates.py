"""FHIR date, dateTime and instant text as the half-open UTC range of its precision.

https://hl7.org/fhir/R4/search.html#date. ``2024`` is ``[2024-01-01, 2025-01-01)``,
``2024-03-05T10:00`` is ``[10:00, 10:01)``, ``...T10:00:00.25Z`` is ``[.25, .26)``.
A value without a timezone is taken as UTC. Extraction stores the bounds as epoch seconds
(floats); an open Period end is ``MIN_EPOCH``/``MAX_EPOCH`` so every stored bound is finite.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

MIN_DATETIME = datetime.min.replace(tzinfo=UTC)
MAX_DATETIME = datetime.max.replace(tzinfo=UTC)
MIN_EPOCH = MIN_DATETIME.timestamp()
MAX_EPOCH = MAX_DATETIME.timestamp()
_MICROS = 1_000_000
_DAY = 86_400 * _MICROS
_EPOCH_DAY = date(1970, 1, 1).toordinal()

_PATTERN = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The UTC range ``[low, high)`` that ``text`` denotes, or None when it is not a date."""
    match = _PATTERN.fullmatch(text)
    return None if match is None else _range(match)


@lru_cache(maxsize=4096)
def epoch_range(text: str) -> tuple[float, float] | None:
    """``date_range`` as epoch seconds (cached: the results of one message share a time)."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        return None
    micros = _epoch_micros(match)
    if micros is not None:
        return micros[0] / _MICROS, micros[1] / _MICROS
    bounds = _range(match)
    if bounds is None:
        return None
    return bounds[0].timestamp(), bounds[1].timestamp()


def _range(match: re.Match[str]) -> tuple[datetime, datetime] | None:
    try:
        low, step = _start_and_step(match)
    except (ValueError, OverflowError):
        return None
    tz = match["tz"]
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        try:
            low -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        except OverflowError:  # year 1 east of UTC or 9999 west of it: clamp to the range
            low = datetime.min if sign > 0 else datetime.max
    low = low.replace(tzinfo=UTC)
    return low, _advance(low, step)


def _epoch_micros(match: re.Match[str]) -> tuple[int, int] | None:
    """``[low, high)`` in epoch microseconds by arithmetic, for a day or a time of day.

    None for what only ``_range`` handles: a year or month, a year at the ends of the
    range (clamping), a leap second, an invalid date or time. ``datetime.timestamp``
    divides the same microseconds by 10**6, so both give the same floats.
    """
    year_text, month, day_text, hour_text, minute_text, second_text, fraction, tz = match.groups()
    year = int(year_text)
    if day_text is None or not 1 < year < 9999:
        return None
    try:
        day = date(year, int(month), int(day_text)).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    if hour_text is None:
        return day * _DAY, (day + 1) * _DAY
    hour, minute, second = int(hour_text), int(minute_text), int(second_text or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    low = ((day * 24 + hour) * 60 + minute) * 60_000_000 + second * _MICROS
    if tz and tz != "Z":
        offset = int(tz[1:3]) * 60 + int(tz[4:6])
        low -= (-1 if tz[0] == "-" else 1) * offset * 60_000_000
    if second_text is None:
        return low, low + 60_000_000
    if not fraction:
        return low, low + _MICROS
    digits = fraction[:6]
    low += int(digits.ljust(6, "0"))
    return low, low + 10 ** (6 - len(digits))


def _start_and_step(match: re.Match[str]) -> tuple[datetime, str | timedelta]:
    year = int(match["y"])
    if match["m"] is None:
        return datetime(year, 1, 1), "year"
    month = int(match["m"])
    if match["d"] is None:
        return datetime(year, month, 1), "month"
    day = datetime(year, month, int(match["d"]))
    if match["H"] is None:
        return day, timedelta(days=1)
    at = day.replace(hour=int(match["H"]), minute=int(match["M"]))
    if match["S"] is None:
        return at, timedelta(minutes=1)
    second = int(match["S"])
    at = at.replace(second=min(second, 59))
    if second == 60:  # a leap second: the instant after 23:59:59
        at += timedelta(seconds=1)
    fraction = match["f"]
    if not fraction:
        return at, timedelta(seconds=1)
    digits = fraction[:6]
    at = at.replace(microsecond=int(digits.ljust(6, "0")))
    return at, timedelta(microseconds=10 ** (6 - len(digits)))


def _advance(low: datetime, step: str | timedelta) -> datetime:
    try:
        if step == "year":
            return low.replace(year=low.year + 1)
        if step == "month":
            if low.month == 12:
                return low.replace(year=low.year + 1, month=1)
            return low.replace(month=low.month + 1)
        assert isinstance(step, timedelta)
        return low + step
    except (ValueError, OverflowError):
        return MAX_DATETIME
