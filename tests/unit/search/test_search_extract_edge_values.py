"""Valid but unusual content: indexed as the spec says, and never an exception."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from fhir_server.search._dates import date_range
from fhir_server.search._ucum import canonical_unit
from fhir_server.search.extract import extract
from fhir_server.search.index import ReferenceEntry, StringEntry
from fhir_server.search.registry import Registry


def test_a_leap_second_is_the_instant_after_23_59_59() -> None:
    assert date_range("2016-12-31T23:59:60Z") == (
        datetime(2017, 1, 1, tzinfo=UTC),
        datetime(2017, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    low, _ = date_range("2016-12-31T23:59:60.5+01:00") or (None, None)
    assert low == datetime(2016, 12, 31, 23, 0, 0, 500000, tzinfo=UTC)


def test_an_offset_beyond_the_calendar_is_clamped_not_dropped() -> None:
    assert date_range("0001-01-01T00:00:00+14:00") == (
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
    )


def test_a_ucum_power_of_ten_too_large_has_no_canonical_form() -> None:
    assert canonical_unit("10*99999999999") is None


def test_a_quantity_with_an_overflowing_ucum_code_is_indexed_by_its_code(
    registry: Registry,
) -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "count"},
        "valueQuantity": {
            "value": 3,
            "system": "http://unitsofmeasure.org",
            "code": "10*99999999999",
        },
    }
    [entry] = [e for e in extract(observation, registry) if e.param == "value-quantity"]
    assert (entry.code, entry.canonical_code) == ("10*99999999999", None)  # type: ignore[union-attr]


@pytest.mark.parametrize("fast_path", [True, False])
def test_as_uri_also_selects_a_canonical_choice(registry: Registry, fast_path: bool) -> None:
    """FHIRPath ``as``/``ofType`` keep subtypes, and canonical is a uri."""
    concept_map = {
        "resourceType": "ConceptMap",
        "status": "draft",
        "sourceCanonical": "http://example.org/fhir/ValueSet/a",
    }
    entries = extract(concept_map, registry, fast_path=fast_path)
    assert (
        ReferenceEntry("source-uri", "ValueSet", "a", "http://example.org/fhir/ValueSet/a")
        in entries
    )
    assert (
        ReferenceEntry("source", "ValueSet", "a", "http://example.org/fhir/ValueSet/a") in entries
    )


def test_an_expression_that_fails_on_some_content_indexes_nothing_for_it(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    custom = registry.copy()
    custom.add(
        {
            "resourceType": "SearchParameter",
            "url": "http://example.org/fhir/SearchParameter/family-tail",
            "name": "family-tail",
            "status": "active",
            "code": "family-tail",
            "base": ["Patient"],
            "type": "string",
            "expression": "Patient.name.family.substring(1)",  # needs a single family name
        }
    )
    one = {"resourceType": "Patient", "id": "one", "name": [{"family": "Smith"}]}
    assert StringEntry("family-tail", "mith", "mith") in extract(one, custom)

    two = {
        "resourceType": "Patient",
        "id": "two",
        "name": [{"family": "Smith"}, {"family": "Jones"}],
    }
    with caplog.at_level(logging.WARNING, logger="fhir_server.search.extract"):
        entries = extract(two, custom)
    assert [e for e in entries if e.param == "family-tail"] == []
    assert StringEntry("family", "jones", "Jones") in entries  # the other parameters are indexed
    assert "'family-tail' not indexed for Patient/two" in caplog.text
