"""What the cheaper extraction keeps: entries compare as records, odd shapes as fhirpathpy.

Index entries are named tuples (cheap to build and hash) that still compare like the
frozen dataclasses they replaced. The fast path follows single elements without building
lists and may hand back a resource's own list: extraction equals fhirpathpy's on shapes
that mix single and repeating elements, and leaves the resource as it was.
"""

from __future__ import annotations

import copy
import operator
from typing import Any

import pytest

from fhir_server.search.extract import extract
from fhir_server.search.index import (
    CompositeEntry,
    DateEntry,
    IndexEntry,
    QuantityEntry,
    ReferenceEntry,
    TokenEntry,
)
from fhir_server.search.registry import Registry


def test_an_entry_equals_only_an_entry_of_its_class_with_equal_fields() -> None:
    token = TokenEntry("code", "http://loinc.org", "8867-4")
    plain = ("code", "http://loinc.org", "8867-4", "")
    same_values = ReferenceEntry("code", "http://loinc.org", "8867-4")
    assert token == TokenEntry("code", "http://loinc.org", "8867-4", "")
    assert token != TokenEntry("code", "http://loinc.org", "8867-4", "heart rate")
    for other in (same_values, plain, "code", None):
        # both operators, both ways round: each direction calls its own method
        assert (operator.eq(token, other), operator.ne(token, other)) == (False, True)
        assert (operator.eq(other, token), operator.ne(other, token)) == (False, True)
    assert operator.ne(token, TokenEntry("code", "http://loinc.org", "8867-4")) is False


def test_equal_entries_hash_alike_and_deduplicate() -> None:
    first = QuantityEntry("value-quantity", 60.0, 59.5, 60.5, "s", "/min", 1.0, "s-1")
    again = QuantityEntry("value-quantity", 60.0, 59.5, 60.5, "s", "/min", 1.0, "s-1")
    assert hash(first) == hash(again)
    entries: list[IndexEntry] = [
        first,
        again,
        TokenEntry("a", "", "b"),
        ReferenceEntry("a", "", "b"),
    ]
    assert list(dict.fromkeys(entries)) == [first, entries[2], entries[3]]
    composite = CompositeEntry("c", (TokenEntry("a", "", "b"), first))
    assert composite == CompositeEntry("c", (TokenEntry("a", "", "b"), again))
    assert composite != CompositeEntry("c", (ReferenceEntry("a", "", "b"), first))


def test_entries_are_immutable_and_match_class_patterns() -> None:
    date = DateEntry("date", 1.0, 2.0)
    with pytest.raises(AttributeError):
        date.low = 0.0  # type: ignore[misc]
    entry: IndexEntry = date
    match entry:
        case TokenEntry():
            matched = "token"
        case DateEntry(low=low, high=high):
            matched = f"date {low} {high}"
        case _:
            matched = "none"
    assert matched == "date 1.0 2.0"
    assert repr(TokenEntry("a", "s", "c")) == "TokenEntry(param='a', system='s', code='c', text='')"


_ODD_SHAPES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "a", "meta": [{"source": "urn:a"}, {"source": "urn:b"}]},
    {"resourceType": "Patient", "id": "a", "meta": "urn:x"},
    {
        "resourceType": "Patient",
        "id": "a",
        "meta": {"tag": [None, {"system": "s", "code": "c"}], "lastUpdated": "2024-01-01"},
    },
    {
        "resourceType": "Patient",
        "id": "a",
        "address": [{"city": ["A", "B"]}, None, "x", {"city": None, "state": "S"}],
        "name": [[{"family": "Deep"}], {"given": ["a", None]}],
    },
    {"resourceType": "Patient", "id": "a", "address": {"city": "One"}, "name": {"family": "F"}},
    {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "component": {"code": {"coding": [{"code": "c"}]}, "valueQuantity": {"value": 1}},
    },
    {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "component": [[{"code": {"coding": [{"code": "c"}]}}]],
        "subject": [{"reference": "Patient/1"}, {"reference": "Group/2"}],
    },
    {  # (x.value as Quantity) | (x.value as SampledData) is read as one selection
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1, "unit": "mg"},
        "valueSampledData": {"origin": {"value": 5}, "period": 1, "dimensions": 1},
        "component": [
            {"code": {"text": "a"}, "valueSampledData": {"origin": {"value": 3}}},
            {"code": {"text": "b"}, "valueQuantity": {"value": 2}},
            {"code": {"text": "c"}, "valueQuantity": {"value": 4}, "valueString": "4"},
        ],
    },
]


@pytest.mark.parametrize("resource", _ODD_SHAPES)
def test_odd_shapes_extract_as_fhirpathpy_and_stay_unchanged(
    registry: Registry, resource: dict[str, Any]
) -> None:
    before = copy.deepcopy(resource)
    fast = extract(resource, registry)
    assert fast == extract(resource, registry, fast_path=False)
    assert resource == before
    assert fast == extract(resource, registry)
