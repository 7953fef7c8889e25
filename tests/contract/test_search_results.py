"""Sorting, includes and paging on every backend, over ``search_dataset``.

https://hl7.org/fhir/R4/search.html#sort and #include.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from fhir_server.core.meta import stamp
from fhir_server.core.ports import ResourceStore, VersionWrite
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.search.ir import Query
from tests.contract.search_dataset import RESOURCES, last_updated, load
from tests.factories import BACKENDS, open_store

ENGINE = RegistrySearchEngine.default(1000, 1000)


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResourceStore]:
    s = open_store(request.param, tmp_path_factory.mktemp(request.param))
    load(s, ENGINE)
    yield s
    s.close()


def parse(resource_type: str, query_string: str) -> Query:
    query, issues = ENGINE.parse([resource_type], parse_qsl(query_string), strict=True)
    assert issues == []
    return query


def ids(store: ResourceStore, resource_type: str, query_string: str) -> list[str]:
    return [v.id for v in store.search(parse(resource_type, query_string)).entries]


@pytest.mark.parametrize(
    ("resource_type", "query_string", "expected"),
    [
        ("Patient", "_sort=family", ["pat-ann", "pat-bob", "pat-zoe"]),
        ("Patient", "_sort=-family", ["pat-zoe", "pat-bob", "pat-ann"]),
        ("Patient", "_sort=birthdate", ["pat-ann", "pat-bob", "pat-zoe"]),
        ("Patient", "_sort=-birthdate", ["pat-bob", "pat-ann", "pat-zoe"]),
        ("Patient", "_sort=gender,-_id", ["pat-zoe", "pat-ann", "pat-bob"]),
        ("Patient", "_sort=-_lastUpdated", ["pat-zoe", "pat-bob", "pat-ann"]),
        ("Observation", "code=8867-4&_sort=-date", ["obs-hr2", "obs-hr1", "obs-old"]),
        ("Observation", "code=8867-4&_sort=date", ["obs-old", "obs-hr1", "obs-hr2"]),
        (
            "Observation",
            "_sort=status,-value-quantity",
            [
                "obs-note",
                "obs-glu",
                "obs-hr1",
                "obs-old",
                "obs-glu2",
                "obs-bp",
                "obs-bp2",
                "obs-hr2",
            ],
        ),
        # ties (same status) keep creation order, whatever the page size
        (
            "Observation",
            "status=final&_sort=status",
            ["obs-hr1", "obs-old", "obs-bp", "obs-bp2", "obs-glu", "obs-glu2"],
        ),
    ],
)
def test_sort(
    store: ResourceStore, resource_type: str, query_string: str, expected: list[str]
) -> None:
    assert ids(store, resource_type, query_string) == expected


def test_sorted_pages_concatenate_to_the_whole(store: ResourceStore) -> None:
    whole = ids(store, "Observation", "_sort=status,date")
    query = parse("Observation", "_sort=status,date&_count=3")
    pages = [
        v.id
        for offset in range(0, 9, 3)
        for v in store.search(replace(query, offset=offset)).entries
    ]
    assert pages == whole
    assert len(whole) == 8


def included(
    store: ResourceStore, resource_type: str, query_string: str
) -> tuple[list[str], set[str]]:
    page = store.search(parse(resource_type, query_string))
    return [v.id for v in page.entries], {f"{v.resource_type}/{v.id}" for v in page.included}


@pytest.mark.parametrize(
    ("resource_type", "query_string", "matches", "includes"),
    [
        (
            "Observation",
            "_id=obs-hr1&_include=Observation:subject",
            ["obs-hr1"],
            {"Patient/pat-ann"},
        ),
        ("Observation", "_id=obs-hr1&_include=Observation:subject:Group", ["obs-hr1"], set()),
        (
            "Observation",
            "_id=obs-hr1,obs-bp&_include=Observation:subject&_include=Observation:performer",
            ["obs-hr1", "obs-bp"],
            {"Patient/pat-ann", "Practitioner/doc-1"},
        ),
        (
            "Observation",
            "_id=obs-hr1&_include=*",
            ["obs-hr1"],
            {"Patient/pat-ann", "Practitioner/doc-1", "Encounter/enc-1"},
        ),
        (
            "Observation",
            "_id=obs-hr1&_include=Observation:subject&_include=Patient:organization",
            ["obs-hr1"],
            {"Patient/pat-ann"},
        ),
        (
            "Observation",
            "_id=obs-hr1&_include=Observation:subject&_include:iterate=Patient:organization"
            "&_include:iterate=Organization:partof",
            ["obs-hr1"],
            {"Patient/pat-ann", "Organization/org-1", "Organization/org-2"},
        ),
        (
            "Patient",
            "_id=pat-ann&_revinclude=Observation:subject",
            ["pat-ann"],
            {"Observation/obs-hr1", "Observation/obs-bp"},
        ),
        (
            "Patient",
            "_id=pat-ann&_revinclude=Observation:subject&_include:iterate=Observation:performer",
            ["pat-ann"],
            {"Observation/obs-hr1", "Observation/obs-bp", "Practitioner/doc-1"},
        ),
        (
            "Organization",
            "_id=org-2&_revinclude:iterate=Organization:partof&_revinclude:iterate=Patient:organization",
            ["org-2"],
            {"Organization/org-1", "Patient/pat-ann", "Patient/pat-zoe"},
        ),
        # a match is never repeated as an include
        (
            "Patient",
            "_id=pat-ann,pat-bob&_include=Patient:general-practitioner&_revinclude=Patient:link",
            ["pat-ann", "pat-bob"],
            {"Practitioner/doc-1"},
        ),
    ],
)
def test_includes(
    store: ResourceStore,
    resource_type: str,
    query_string: str,
    matches: list[str],
    includes: set[str],
) -> None:
    assert included(store, resource_type, query_string) == (matches, includes)


def test_paging_snapshot_ignores_resources_created_later(store: ResourceStore) -> None:
    query = parse("Observation", "_count=3")
    snapshot = last_updated(len(RESOURCES))
    first = store.search(replace(query, snapshot=snapshot))
    late = {**RESOURCES[8], "id": "obs-late"}
    instant = snapshot + timedelta(hours=1)
    store.write(
        [
            VersionWrite(
                "Observation",
                "obs-late",
                1,
                instant,
                "PUT",
                stamp(late, "obs-late", 1, instant),
                0,
                ENGINE.extract(late),
            )
        ]
    )
    # an update of a resource already seen must not move it to a later page either
    hr1 = store.read("Observation", "obs-hr1")
    assert hr1 is not None
    store.write(
        [
            VersionWrite(
                "Observation",
                "obs-hr1",
                2,
                instant,
                "PUT",
                stamp(RESOURCES[8], "obs-hr1", 2, instant),
                1,
                ENGINE.extract({**RESOURCES[8], "id": "obs-hr1"}),
            )
        ]
    )
    rest = [store.search(replace(query, snapshot=snapshot, offset=o)) for o in (3, 6)]
    seen = [v.id for p in (first, *rest) for v in p.entries]
    assert sorted(seen) == sorted(r["id"] for r in RESOURCES if r["resourceType"] == "Observation")
    assert first.total == 8
