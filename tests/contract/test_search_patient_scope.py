"""Searches naming one patient give the matcher's results on every backend.

SQLite drives them through the patient's own token and date rows (``patient`` column,
docs/adr/0004-index-schema.md); these resources probe its edges: several patients, a patient
only as performer, a subject that moved to another patient, no patient at all. Also: totals
are exact whatever page is asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from fhir_server.core.meta import stamp
from fhir_server.core.ports import ResourceStore, VersionWrite
from fhir_server.search.compartment import patient_compartment_term
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.search.ir import AllOf, Query
from fhir_server.search.match import filter_resources
from tests.factories import BACKENDS, observation, open_store

ENGINE = RegistrySearchEngine.default(1000, 1000)
T0 = datetime(2024, 3, 1, tzinfo=UTC)
HR, RR = ("http://loinc.org", "8867-4"), ("http://loinc.org", "9279-1")


def _patient(id: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id, "gender": "female", **extra}


def _obs(id: str, subject: str, code: tuple[str, str], day: int, **extra: Any) -> dict[str, Any]:
    effective = f"2024-01-{day:02d}T10:00:00Z"
    return {**observation(code=code, subject=subject, effective=effective), "id": id, **extra}


VERSIONS: list[dict[str, Any]] = [
    _patient("a"),
    _patient("b", link=[{"other": {"reference": "Patient/a"}, "type": "seealso"}]),
    _obs("a1", "Patient/a", HR, 2),
    _obs("a2", "Patient/a", HR, 20),
    _obs("a3", "Patient/a", RR, 2),
    _obs("ab", "Patient/a", HR, 3, performer=[{"reference": "Patient/b"}]),
    _obs("perf", "Group/g", HR, 2, performer=[{"reference": "Patient/a"}]),
    _obs("b1", "Patient/b", HR, 2),
    _obs("grp", "Group/g", HR, 2),
    _obs("url", "http://other.org/fhir/Patient/a", HR, 2),
    _obs("moved", "Patient/a", HR, 2),
    _obs("moved", "Patient/b", HR, 4),  # version 2: now patient b's
]


def _write(store: ResourceStore) -> list[dict[str, Any]]:
    current: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    for n, body in enumerate(VERSIONS):
        instant = T0 + timedelta(seconds=n)
        version = versions.get(body["id"], 0) + 1
        content = stamp(body, body["id"], version, instant)
        write = VersionWrite(
            body["resourceType"],
            body["id"],
            version,
            instant,
            "PUT",
            content,
            version - 1,
            ENGINE.extract(body),
        )
        store.write([write])
        versions[body["id"]] = version
        current[body["id"]] = body
    return list(current.values())


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ResourceStore, list[dict[str, Any]]]]:
    s = open_store(request.param, tmp_path_factory.mktemp(request.param))
    yield s, _write(s)
    s.close()


def _parse(resource_type: str, query_string: str) -> Query:
    query, issues = ENGINE.parse([resource_type], parse_qsl(query_string), strict=True)
    assert issues == []
    return query


def _expected(resources: list[dict[str, Any]], query: Query) -> list[str]:
    return sorted(r["id"] for r in filter_resources(resources, query, ENGINE.registry))


def _found(store: ResourceStore, query: Query) -> list[str]:
    return sorted(v.id for v in store.search(query).entries)


@pytest.mark.parametrize(
    ("resource_type", "query_string", "expected"),
    [
        ("Observation", "subject=Patient/a&code=8867-4", ["a1", "a2", "ab", "url"]),
        (
            "Observation",
            "subject=Patient/a&code=http://loinc.org|8867-4&date=ge2024-01-01&date=lt2024-01-05",
            ["a1", "ab", "url"],
        ),
        (
            "Observation",
            "patient=Patient/a&code=8867-4,9279-1&date=2024-01-02",
            ["a1", "a3", "url"],
        ),
        ("Observation", "performer=Patient/a&code=8867-4", ["perf"]),
        ("Observation", "performer=Patient/b&date=2024-01-03", ["ab"]),
        ("Observation", "subject=Patient/b&code=8867-4&date=gt2024-01-01", ["b1", "moved"]),
        ("Observation", "subject=Patient/a&code:not=8867-4", ["a3"]),
        ("Observation", "subject=Patient/a&code=8867-4&date=sa2024-01-02", ["a2", "ab"]),
        ("Observation", "subject=a&code=8867-4&status=final", ["a1", "a2", "ab", "url"]),
        ("Patient", "link=Patient/a&gender=female", ["b"]),
    ],
)
def test_patient_searches_match_the_matcher(
    store: tuple[ResourceStore, list[dict[str, Any]]],
    resource_type: str,
    query_string: str,
    expected: list[str],
) -> None:
    s, resources = store
    query = _parse(resource_type, query_string)
    assert _expected(resources, query) == expected
    assert _found(s, query) == expected


@pytest.mark.parametrize(("patient", "expected"), [("a", ["a1", "a2", "ab", "perf", "url"])])
def test_compartment_search_with_a_code(
    store: tuple[ResourceStore, list[dict[str, Any]]], patient: str, expected: list[str]
) -> None:
    s, resources = store
    query = _parse("Observation", "code=8867-4")
    scope = patient_compartment_term(("Observation",), patient)
    scoped = replace(query, where=AllOf((*query.where.terms, scope)))
    assert _expected(resources, scoped) == expected
    assert _found(s, scoped) == expected


@pytest.mark.parametrize(
    ("count", "offset"), [(4, 0), (5, 0), (2, 2), (2, 3), (3, 3), (2, 4), (1, 9)]
)
def test_total_is_exact_on_every_page(
    store: tuple[ResourceStore, list[dict[str, Any]]], count: int, offset: int
) -> None:
    s, _ = store
    query = replace(_parse("Observation", "code=8867-4&_sort=_id"), count=count, offset=offset)
    page = s.search(query)
    everything = ["a1", "a2", "ab", "b1", "grp", "moved", "perf", "url"]
    assert page.total == len(everything)
    assert [v.id for v in page.entries] == everything[offset : offset + count]
