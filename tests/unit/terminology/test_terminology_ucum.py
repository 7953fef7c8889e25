from __future__ import annotations

import re

import pytest

from terminology import ucum


@pytest.mark.parametrize(
    "unit",
    [
        "mg",
        "mm[Hg]",
        "/min",
        "{beats}/min",
        "10*3/uL",
        "mL/min/{1.73_m2}",
        "Cel",
        "[degF]",
        "kg/m2",
        "%",
        "1",
        "mV",
        "uV",
        "s-1",
        "10*-3",
        "kg.m/s2",
        "g/(8.h){shift}",
        "100/{cells}",
        "[in_i'Hg]",
        "B[10.nV]",
        "cal_[15]",
        "dar",
        "{score}",
    ],
)
def test_valid_ucum_expressions_are_accepted(unit: str) -> None:
    assert ucum.is_valid(unit)


@pytest.mark.parametrize(
    ("unit", "reason"),
    [
        ("", "empty"),
        ("mmHg", "unknown unit 'mmHg'"),
        ("mmin", "unknown unit 'mmin'"),  # a prefix only goes with a metric unit
        ("m//s", "a unit is missing"),
        ("(m", "')' is missing"),
        ("{a", "'}' is missing"),
        ("kg m", "unknown unit 'kg m'"),
        ("0", "positive integer"),
        ("m{a b}", "printable ASCII"),
        ("m^2", "unknown unit"),
        ("Torr", "unknown unit"),
    ],
)
def test_invalid_ucum_expressions_say_why(unit: str, reason: str) -> None:
    with pytest.raises(ucum.UcumError, match=re.escape(reason)):
        ucum.check(unit)
    assert not ucum.is_valid(unit)


def test_ucum_code_system_is_concept_free_and_versioned() -> None:
    code_system = ucum.code_system()
    assert code_system["url"] == "http://unitsofmeasure.org"
    assert code_system["version"] == ucum.version() == "2.2"
    assert code_system["content"] == "not-present"
    assert "concept" not in code_system
