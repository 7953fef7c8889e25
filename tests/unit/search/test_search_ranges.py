"""The prefix table of search._ranges: dates compare ranges, numbers compare values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fhir_server.search._ranges import (
    approximate_range,
    approximate_value,
    precision_range,
    range_matches,
    value_matches,
)
from fhir_server.search.ir import Cmp

# search range [10, 20); targets chosen around it
INSIDE = (12.0, 15.0)
SAME = (10.0, 20.0)
STRADDLES_LOW = (5.0, 12.0)
STRADDLES_HIGH = (15.0, 25.0)
BEFORE = (1.0, 10.0)
AFTER = (20.0, 30.0)
COVERS = (5.0, 25.0)


@pytest.mark.parametrize(
    ("cmp", "target", "expected"),
    [
        (Cmp.EQ, INSIDE, True),
        (Cmp.EQ, SAME, True),
        (Cmp.EQ, STRADDLES_LOW, False),
        (Cmp.EQ, COVERS, False),
        (Cmp.NE, INSIDE, False),
        (Cmp.NE, STRADDLES_HIGH, True),
        (Cmp.GT, AFTER, True),
        (Cmp.GT, STRADDLES_HIGH, True),
        (Cmp.GT, INSIDE, False),
        (Cmp.GT, SAME, False),
        (Cmp.LT, BEFORE, True),
        (Cmp.LT, STRADDLES_LOW, True),
        (Cmp.LT, INSIDE, False),
        (Cmp.GE, INSIDE, True),
        (Cmp.GE, AFTER, True),
        (Cmp.GE, BEFORE, False),
        (Cmp.LE, INSIDE, True),
        (Cmp.LE, BEFORE, True),
        (Cmp.LE, AFTER, False),
        (Cmp.SA, AFTER, True),
        (Cmp.SA, STRADDLES_HIGH, False),
        (Cmp.EB, BEFORE, True),
        (Cmp.EB, STRADDLES_LOW, False),
        (Cmp.AP, STRADDLES_LOW, True),
        (Cmp.AP, COVERS, True),
        (Cmp.AP, AFTER, False),
        (Cmp.AP, BEFORE, False),
    ],
)
def test_date_prefixes_compare_ranges(
    cmp: Cmp, target: tuple[float, float], expected: bool
) -> None:
    assert range_matches(cmp, 10.0, 20.0, *target) is expected


# search value 100 with precision range [99.5, 100.5)
@pytest.mark.parametrize(
    ("cmp", "target", "expected"),
    [
        (Cmp.EQ, 100.0, True),
        (Cmp.EQ, 100.4, True),
        (Cmp.EQ, 100.5, False),
        (Cmp.EQ, 99.5, True),
        (Cmp.NE, 101.0, True),
        (Cmp.NE, 100.2, False),
        (Cmp.GT, 100.2, True),
        (Cmp.GT, 100.0, False),
        (Cmp.LT, 99.9, True),
        (Cmp.LT, 100.0, False),
        (Cmp.GE, 100.0, True),
        (Cmp.GE, 99.9, False),
        (Cmp.LE, 100.0, True),
        (Cmp.LE, 100.1, False),
        (Cmp.SA, 100.1, True),
        (Cmp.EB, 99.9, True),
        (Cmp.SA, 100.0, False),
    ],
)
def test_number_prefixes_compare_the_value(cmp: Cmp, target: float, expected: bool) -> None:
    assert value_matches(cmp, 100.0, 99.5, 100.5, target) is expected


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("100", "99.5", "100.5"),
        ("100.00", "99.995", "100.005"),
        ("0.1", "0.05", "0.15"),
        ("-3", "-3.5", "-2.5"),
        ("1e2", "50", "150"),
    ],
)
def test_precision_range_is_half_a_unit_of_the_last_digit(value: str, low: str, high: str) -> None:
    assert precision_range(Decimal(value)) == (Decimal(low), Decimal(high))


def test_approximate_value_is_ten_percent_and_never_narrower_than_precision() -> None:
    assert approximate_value(Decimal(100), Decimal("99.5"), Decimal("100.5")) == (
        Decimal(90),
        Decimal(110),
    )
    assert approximate_value(Decimal(0), Decimal("-0.5"), Decimal("0.5")) == (
        Decimal("-0.5"),
        Decimal("0.5"),
    )


def test_approximate_range_widens_by_ten_percent_of_the_gap_to_now() -> None:
    now = datetime(2024, 1, 11, tzinfo=UTC)
    low, high = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    assert approximate_range(low, high, now) == (low - timedelta(days=1), high + timedelta(days=1))


def test_precision_range_keeps_a_value_beyond_double_precision_inside() -> None:
    value = Decimal("66.899999999999991")  # official R4 example body-height
    low, high = precision_range(value)
    assert float(low) <= float(value) < float(high)
    assert precision_range(Decimal("100")) == (Decimal("99.5"), Decimal("100.5"))
