"""Prefix semantics for ordered values: the one definition every compiler mirrors.

https://hl7.org/fhir/R4/search.html#prefix. The in-memory matcher calls these functions;
the SQLite and MongoDB compilers translate the same inequalities, bound for bound.

**Dates** compare ranges. The resource's value is ``[tl, th)`` (``DateEntry.low/high``, a
Period's start/end, a date's precision range); the search value is ``[ql, qh)``
(``DateMatch.low/high``)::

    eq   ql <= tl and th <= qh            the search range contains the target range
    ne   not eq
    gt   th > qh                          the target reaches past the search range
    lt   tl < ql                          the target starts before the search range
    ge   th > qh or (ql <= tl and th <= qh)
    le   tl < ql or (ql <= tl and th <= qh)
    sa   tl >= qh                         the target starts after the search range
    eb   th <= ql                         the target ends before the search range
    ap   tl < qh and th > ql              overlap; parse has already widened [ql, qh)
                                          by 10% of the gap between now and the date

**Numbers and quantities** compare the resource's value ``v`` with the search value ``s``
and its precision range ``[ql, qh)`` (``100`` is ``[99.5, 100.5)``, ``100.00`` is
``[99.995, 100.005)``). ``v`` is ``NumberEntry.value``; a quantity entry matches when
either (a) its ``system`` and ``code`` equal the search's (None matches anything) and
``v = QuantityEntry.value`` satisfies the prefix, or (b) the search has a code, the
entry's ``canonical_code`` equals it and ``v = canonical_value`` satisfies the prefix
(parse expresses a UCUM search value in canonical units, so ``gt0.1|<ucum>|g`` matches
``150 mg`` through (b))::

    eq   ql <= v < qh
    ne   not eq
    gt   v > s        ge   v >= s        sa   v > s
    lt   v < s        le   v <= s        eb   v < s
    ap   ql <= v < qh                     parse has widened [ql, qh) to s ± 10% of |s|

Parse emits ``ne`` as ``Not(eq)``; ``range_matches``/``value_matches`` still define
``ne`` so that every ``Cmp`` has a meaning.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from fhir_server.search._dates import MAX_DATETIME, MIN_DATETIME
from fhir_server.search.ir import Cmp

_APPROXIMATION = Decimal("0.1")


def range_matches(cmp: Cmp, low: float, high: float, target_low: float, target_high: float) -> bool:
    """Whether a target range ``[target_low, target_high)`` satisfies ``cmp [low, high)``."""
    contained = low <= target_low and target_high <= high
    match cmp:
        case Cmp.EQ:
            return contained
        case Cmp.NE:
            return not contained
        case Cmp.GT:
            return target_high > high
        case Cmp.LT:
            return target_low < low
        case Cmp.GE:
            return target_high > high or contained
        case Cmp.LE:
            return target_low < low or contained
        case Cmp.SA:
            return target_low >= high
        case Cmp.EB:
            return target_high <= low
        case Cmp.AP:
            return target_low < high and target_high > low


def value_matches(cmp: Cmp, value: float, low: float, high: float, target: float) -> bool:
    """Whether a target value satisfies ``cmp value`` (precision range ``[low, high)``)."""
    match cmp:
        case Cmp.EQ | Cmp.AP:
            return low <= target < high
        case Cmp.NE:
            return not low <= target < high
        case Cmp.GT | Cmp.SA:
            return target > value
        case Cmp.LT | Cmp.EB:
            return target < value
        case Cmp.GE:
            return target >= value
        case Cmp.LE:
            return target <= value


def precision_range(value: Decimal) -> tuple[Decimal, Decimal]:
    """The implicit range of a decimal: plus or minus half a unit of its last digit.

    ``1e2`` has one significant figure, so its range is ``[50, 150)``. Values are stored and
    compared as doubles: when half a unit is below double precision (``66.899999999999991``),
    the upper bound becomes the next double above the value, so that the value, as stored,
    stays inside its own range.
    """
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), "precision_range needs a finite decimal"
    half = Decimal(5).scaleb(exponent - 1)
    low, high = value - half, value + half
    point = float(value)
    if float(high) <= point:
        high = Decimal(math.nextafter(point, math.inf))
    return low, high


def approximate_value(value: Decimal, low: Decimal, high: Decimal) -> tuple[Decimal, Decimal]:
    """The ``ap`` window of a number: ``value`` ± 10%, never narrower than its precision."""
    margin = abs(value) * _APPROXIMATION
    return min(low, value - margin), max(high, value + margin)


def approximate_range(low: datetime, high: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The ``ap`` window of a date range: widened by 10% of the gap between now and it."""
    margin = abs(now - low) * 0.1
    try:
        widened_low = low - margin
    except OverflowError:
        widened_low = MIN_DATETIME
    try:
        widened_high = high + margin
    except OverflowError:
        widened_high = MAX_DATETIME
    return widened_low, widened_high
