"""A version 1 SQLite database (no ``patient`` column) is upgraded when a store opens it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl

from fhir_server.core.meta import stamp
from fhir_server.core.ports import VersionWrite
from fhir_server.model.instant import now
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.storage.sqlite.store import SqliteResourceStore
from tests.factories import observation

ENGINE = RegistrySearchEngine.default(1000, 20)
BODIES = [
    {"resourceType": "Patient", "id": "a"},
    {**observation(subject="Patient/a"), "id": "o1"},
    {**observation(subject="Patient/b"), "id": "o2"},
    {**observation(subject="Patient/a"), "performer": [{"reference": "Patient/b"}], "id": "o3"},
    {**observation(subject="Group/g"), "id": "o4"},
]
PATIENT_ROWS = "SELECT rid, param, patient FROM {} ORDER BY rid, param, patient"


def _load(path: Path) -> None:
    store = SqliteResourceStore(path)
    for body in BODIES:
        content = stamp(body, body["id"], 1, now())
        store.write(
            [
                VersionWrite(
                    body["resourceType"],
                    body["id"],
                    1,
                    now(),
                    "PUT",
                    content,
                    0,
                    ENGINE.extract(body),
                )
            ]
        )
    store.close()


def _rows(path: Path) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    rows = [conn.execute(PATIENT_ROWS.format(t)).fetchall() for t in ("idx_token", "idx_date")]
    conn.close()
    return rows


def _downgrade(path: Path) -> None:
    """The shape a version 1 server left: no ``patient`` column nor its indexes."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX idx_token_patient; DROP INDEX idx_date_patient;"
        " ALTER TABLE idx_token DROP COLUMN patient; ALTER TABLE idx_date DROP COLUMN patient;"
        " UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    conn.close()


def test_version_1_database_gets_the_patient_rows_a_new_one_writes(tmp_path: Path) -> None:
    path = tmp_path / "fhir.db"
    _load(path)
    written = _rows(path)
    assert {row[2] for row in written[0]} == {"a", "b", "*", None}
    _downgrade(path)
    store = SqliteResourceStore(path)
    query, _ = ENGINE.parse(
        ["Observation"], parse_qsl("subject=Patient/a&code=8867-4"), strict=True
    )
    assert sorted(v.id for v in store.search(query).entries) == ["o1", "o3"]
    store.close()
    assert _rows(path) == written
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert version == ("2",)
