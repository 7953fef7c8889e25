"""The extraction shortcuts give what the general code gives.

Epoch bounds by arithmetic equal ``datetime.timestamp``; plans skipped by key guards would
have selected nothing; the ``Patient.deceased`` flag equals fhirpathpy; cached numbers keep
each value's own precision; a split without escapes is a plain split.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from fhir_server.search._convert import number, quantity
from fhir_server.search._dates import _PATTERN, _epoch_micros, _range, epoch_range
from fhir_server.search._text import split_escaped
from fhir_server.search.extract import extract
from fhir_server.search.index import IndexEntry, NumberEntry, QuantityEntry
from fhir_server.search.registry import Registry

UCUM = "http://unitsofmeasure.org"


def _date_texts(count: int) -> list[str]:
    rng = random.Random(20240601)
    texts = []
    for _ in range(count):
        year = rng.choice([1, 2, 1969, 1970, 2024, 9998, 9999, rng.randint(1, 9999)])
        month = rng.choice([0, 1, 2, 12, 13, rng.randint(1, 12)])
        day = rng.choice([0, 1, 28, 29, 30, 31, 32, rng.randint(1, 31)])
        text = f"{year:04d}-{month:02d}-{day:02d}"
        if rng.random() < 0.8:
            text += f"T{rng.choice([0, 12, 23, 24, 99]):02d}:{rng.choice([0, 30, 59, 60]):02d}"
            if rng.random() < 0.8:
                text += f":{rng.choice([0, 30, 59, 60, 61, 99]):02d}"
                if rng.random() < 0.5:
                    text += "." + "".join(rng.choices("0123456789", k=rng.randint(1, 9)))
            text += rng.choice(["", "Z", "+00:00", "-05:00", "+05:30", "+14:00", "-99:59"])
        texts.append(text)
    return texts


def test_epoch_arithmetic_equals_the_datetime_timestamps() -> None:
    compared = 0
    for text in _date_texts(20_000):
        match = _PATTERN.fullmatch(text)
        assert match is not None
        micros = _epoch_micros(match)
        bounds = _range(match)
        if micros is None:
            continue
        assert bounds is not None, text
        assert (micros[0] / 10**6, micros[1] / 10**6) == (
            bounds[0].timestamp(),
            bounds[1].timestamp(),
        ), text
        compared += 1
    assert compared > 1_000


@pytest.mark.parametrize(
    "text",
    ["2024", "2024-02", "2024-02-30", "0001-01-01T00:00:00+14:00", "2016-12-31T23:59:60Z", "x"],
)
def test_epoch_range_outside_the_arithmetic_uses_datetimes(text: str) -> None:
    match = _PATTERN.fullmatch(text)
    bounds = None if match is None else _range(match)
    expected = None if bounds is None else (bounds[0].timestamp(), bounds[1].timestamp())
    assert epoch_range(text) == expected


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Patient", "id": "a"},
        {"resourceType": "Patient", "id": "b", "deceasedBoolean": True},
        {"resourceType": "Patient", "id": "c", "deceasedBoolean": False},
        {"resourceType": "Patient", "id": "d", "deceasedDateTime": "2020-01-01"},
        {"resourceType": "Patient", "id": "e", "_deceasedBoolean": {"extension": []}},
        {"resourceType": "Patient", "id": "f", "deceasedBoolean": None},
    ],
    ids=lambda r: str(r["id"]),
)
def test_the_deceased_flag_equals_fhirpathpy(registry: Registry, resource: dict[str, Any]) -> None:
    fast = [e for e in extract(resource, registry) if e.param == "deceased"]
    assert fast == [
        e for e in extract(resource, registry, fast_path=False) if e.param == "deceased"
    ]
    assert len(fast) == 1


def test_guards_skip_only_parameters_that_select_nothing(registry: Registry) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "valueCodeableConcept": {"text": "see components"},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 107, "system": UCUM, "code": "mm[Hg]"},
            },
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}},
        ],
    }
    fast = extract(observation, registry)
    assert fast == extract(observation, registry, fast_path=False)
    params = {e.param for e in fast}
    assert "component-code-value-quantity" in params
    assert "component-code-value-concept" not in params  # no component has such a value


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        (60, 59.5, 60.5),
        (60.0, 59.95, 60.05),
        (Decimal("6E+1"), 55.0, 65.0),
        (Decimal("60.00"), 59.995, 60.005),
    ],
)
def test_cached_numbers_keep_the_precision_of_each_value(
    value: Any, low: float, high: float
) -> None:
    out: list[IndexEntry] = []
    number("n", value, out)
    quantity("q", {"value": value, "system": UCUM, "code": "/min"}, out)
    quantity("q", {"value": value, "system": UCUM, "code": "/h"}, out)
    assert out[0] == NumberEntry("n", 60.0, low, high)
    assert out[1] == QuantityEntry("q", 60.0, low, high, UCUM, "/min", 1.0, "s-1")
    assert isinstance(out[2], QuantityEntry)
    assert out[2].canonical_code == "s-1"
    assert out[2].canonical_value == pytest.approx(60 / 3600)


@pytest.mark.parametrize("value", ["a,b,,c", "", ",", "sys|code", "no separator"])
def test_split_without_escapes_is_a_plain_split(value: str) -> None:
    for separator in ",|$":
        assert split_escaped(value, separator) == value.split(separator)
