"""Older SQLite databases are upgraded when a store opens them.

Version 1 had no ``patient`` column; version 2 kept a copy of every current version in
``history``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl

from fhir_server.core.meta import stamp
from fhir_server.core.ports import HistoryQuery, VersionWrite
from fhir_server.model.instant import now
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.storage.sqlite.schema import SCHEMA_VERSION
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


def _rewrite(path: Path, script: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()


def _downgrade(path: Path) -> None:
    """The shape a version 1 server left: no ``patient`` column nor its indexes."""
    _rewrite(
        path,
        "DROP INDEX idx_token_patient; DROP INDEX idx_date_patient;"
        " ALTER TABLE idx_token DROP COLUMN patient; ALTER TABLE idx_date DROP COLUMN patient;"
        " UPDATE meta SET value = '1' WHERE key = 'schema_version';",
    )


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
    assert version == (str(SCHEMA_VERSION),)


def _write(
    store: SqliteResourceStore, id: str, version: int, body: dict[str, object] | None
) -> None:
    content = None if body is None else stamp({**body, "id": id}, id, version, now())
    method = "DELETE" if body is None else "PUT"
    index = {} if body is None else ENGINE.extract(body)
    store.write(
        [VersionWrite("Observation", id, version, now(), method, content, version - 1, index)]
    )


def _to_version_2(path: Path) -> None:
    """The shape a version 2 server left: current versions also in ``history``, no ``seq``."""
    _rewrite(
        path,
        "INSERT INTO history (seq, type, id, version_id, last_updated, method, content)"
        " SELECT seq, type, id, version_id, last_updated, method, content FROM resources;"
        " DROP INDEX resources_seq; ALTER TABLE resources DROP COLUMN seq;"
        " UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )


def _versions(store: SqliteResourceStore, query: HistoryQuery) -> list[tuple[str, int, str]]:
    return [(v.id, v.version_id, v.method) for v in store.history(query).entries]


def test_version_2_database_keeps_its_history_once(tmp_path: Path) -> None:
    path = tmp_path / "fhir.db"
    store = SqliteResourceStore(path)
    _write(store, "x", 1, observation(value=1))
    _write(store, "y", 1, observation(value=2))
    _write(store, "x", 2, observation(value=3))
    _write(store, "y", 2, None)
    everything = HistoryQuery(None, None, count=10)
    before = _versions(store, everything)
    assert before == [("y", 2, "DELETE"), ("x", 2, "PUT"), ("y", 1, "PUT"), ("x", 1, "PUT")]
    store.close()
    _to_version_2(path)
    conn = sqlite3.connect(path)
    # every version, the current ones too
    assert conn.execute("SELECT count(*) FROM history").fetchone() == (4,)
    conn.close()

    store = SqliteResourceStore(path)
    assert _versions(store, everything) == before
    assert store.history(everything).total == 4
    _write(store, "x", 3, observation(value=4))
    assert _versions(store, HistoryQuery("Observation", "x", count=10)) == [
        ("x", 3, "PUT"),
        ("x", 2, "PUT"),
        ("x", 1, "PUT"),
    ]
    first = store.vread("Observation", "x", 1)
    assert first is not None
    assert first.content is not None
    assert json.loads(first.content)["valueQuantity"]["value"] == 1
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM history").fetchone() == (3,)
    conn.close()
