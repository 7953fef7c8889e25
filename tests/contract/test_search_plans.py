"""SQLite query plans: the selective term drives through its index, no query scans resources.

EXPLAIN QUERY PLAN on an empty database shows the plan SQLite will use; a ``SCAN r`` line
would mean reading every resource of the type. A search naming one patient reads that
patient's token and date rows only (``idx_token_patient``, ``idx_date_patient``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.storage.sqlite.store import SqliteResourceStore

ENGINE = RegistrySearchEngine.default(1000, 20)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteResourceStore]:
    s = SqliteResourceStore(tmp_path / "fhir.db")
    yield s
    s.close()


@pytest.mark.parametrize(
    ("resource_type", "query", "index"),
    [
        (
            "Observation",
            "subject=Patient/p1&code=http://loinc.org|8867-4&date=ge2024-01-10&date=lt2024-01-13",
            "idx_reference_target",
        ),
        ("Observation", "patient=Patient/p1&date=ge2024-01-10", "idx_reference_target"),
        ("Observation", "code-value-quantity=http://loinc.org|8867-4$gt129", "idx_quantity_match"),
        (
            "Patient",
            "_has:Observation:subject:code-value-quantity=http://loinc.org|8867-4$gt129",
            "idx_quantity_match",
        ),
        ("Observation", "subject:Patient.name=smith", "idx_string_value"),
        ("Observation", "subject=Patient/p1,Patient/p2&status=final", "idx_reference_target"),
        ("Observation", "identifier=urn:x|1", "idx_token_match"),
        ("Observation", "identifier=urn:x|1,urn:x|2,urn:y|3", "idx_token_match"),
        (
            "Observation",
            "_lastUpdated=ge2024-01-01&_lastUpdated=lt2024-01-02",
            "resources_type_updated",
        ),
    ],
)
def test_plan_drives_through_an_index(
    store: SqliteResourceStore, resource_type: str, query: str, index: str
) -> None:
    parsed, _ = ENGINE.parse([resource_type], parse_qsl(query), strict=True)
    plan = store.explain(parsed).split("-- plan:\n", 1)[1]
    assert index in plan
    assert "SCAN r" not in plan
    if index != "resources_type_updated":  # the driver's rids, not every resource of the type
        assert plan.startswith("SEARCH r USING INTEGER PRIMARY KEY")


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        (
            "subject=Patient/p1&code=http://loinc.org|8867-4&date=ge2024-01-10&date=lt2024-01-13",
            ["idx_token_patient", "idx_date_patient", "idx_date_patient"],
        ),
        ("patient=Patient/p1&date=ge2024-01-10", ["idx_date_patient"]),
        ("subject=Patient/p1&code=8867-4,9279-1", ["idx_token_patient", "idx_token_patient"]),
    ],
)
def test_one_patients_rows_drive(
    store: SqliteResourceStore, query: str, indexes: list[str]
) -> None:
    parsed, _ = ENGINE.parse(["Observation"], parse_qsl(query), strict=True)
    plan = store.explain(parsed).split("-- plan:\n", 1)[1].splitlines()
    searches = [
        line.split(" USING COVERING INDEX ")[1].split(" ")[0] for line in plan if "COVERING" in line
    ]
    assert searches[: len(indexes)] == indexes
    # the reference itself is then checked on the intersection only
    assert searches[len(indexes) :] == ["idx_reference_target"]
