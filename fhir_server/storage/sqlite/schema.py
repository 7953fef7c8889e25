"""SQLite schema: current versions, earlier versions, outbox and one index table per type.

``resources`` holds the current version of every resource (a deletion too) and ``history``
the versions before it: an update moves the replaced version there, so a creation writes one
row, not two (docs/adr/0007-ingestion-throughput.md). ``seq`` numbers versions in the order
they were written, across both tables; a version keeps its number when it moves.
See docs/adr/0004-index-schema.md. Timestamps of versions are integer microseconds since the
epoch (exact, sortable); date index ranges are epoch seconds as REAL. Every index table has
``grp``: components of one composite value share a group number.

Each index table has a lookup index ``(param, <value columns>, rid)`` that serves a driving
subquery (``compile``) without touching the table (token and quantity add ``grp``, for the
components of a composite), and ``(rid, param, ...)`` for the per-row probes of the other
terms. The ``DROP INDEX`` lines retire the narrower lookup indexes of
earlier versions of this schema.

Token and date rows carry ``patient`` (``rows.patient_of``), indexed by ``(patient, param,
<value columns>, rid)``: a search that names one patient reads only that patient's rows.
Version 1 databases gain the column, filled from their reference rows, when first opened
(``migrate``; about 45 s for 1,000,000 Observations). Version 2 databases kept every
version, the current one too, in ``history``; opening one moves the numbers of current
versions to ``resources.seq`` and drops their copies from ``history``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from fhir_server.search.compartment import patient_compartment_params, patient_compartment_types
from fhir_server.storage.sqlite.rows import MANY_PATIENTS, PATIENT_PARAM

SCHEMA_VERSION = 3

DDL = """
CREATE TABLE IF NOT EXISTS resources (
    rid INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    created INTEGER NOT NULL,
    method TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    content BLOB,
    seq INTEGER NOT NULL,
    UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resources_type_updated ON resources (type, deleted, last_updated);
CREATE INDEX IF NOT EXISTS resources_seq ON resources (seq);

CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    method TEXT NOT NULL,
    content BLOB,
    UNIQUE (type, id, version_id)
);
CREATE INDEX IF NOT EXISTS history_updated ON history (last_updated);
CREATE INDEX IF NOT EXISTS history_type_updated ON history (type, last_updated);

CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    recorded INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS idx_token (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL, patient TEXT
);
DROP INDEX IF EXISTS idx_token_lookup;
DROP INDEX IF EXISTS idx_token_code;
CREATE INDEX IF NOT EXISTS idx_token_match ON idx_token (param, code, system, rid, grp);
DROP INDEX IF EXISTS idx_token_rid;
CREATE INDEX IF NOT EXISTS idx_token_probe ON idx_token (rid, param, code, system);

CREATE TABLE IF NOT EXISTS idx_string (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    normalized TEXT NOT NULL, exact TEXT NOT NULL
);
DROP INDEX IF EXISTS idx_string_lookup;
CREATE INDEX IF NOT EXISTS idx_string_value ON idx_string (param, normalized, rid);
CREATE INDEX IF NOT EXISTS idx_string_rid ON idx_string (rid, param);

CREATE TABLE IF NOT EXISTS idx_date (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    low REAL NOT NULL, high REAL NOT NULL, patient TEXT
);
DROP INDEX IF EXISTS idx_date_lookup;
CREATE INDEX IF NOT EXISTS idx_date_range ON idx_date (param, low, high, rid);
DROP INDEX IF EXISTS idx_date_rid;
CREATE INDEX IF NOT EXISTS idx_date_probe ON idx_date (rid, param, low, high);

CREATE TABLE IF NOT EXISTS idx_number (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL
);
DROP INDEX IF EXISTS idx_number_lookup;
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number (param, value, rid);
CREATE INDEX IF NOT EXISTS idx_number_rid ON idx_number (rid, param);

CREATE TABLE IF NOT EXISTS idx_quantity (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
    system TEXT NOT NULL, code TEXT NOT NULL,
    canonical_value REAL, canonical_code TEXT
);
DROP INDEX IF EXISTS idx_quantity_lookup;
DROP INDEX IF EXISTS idx_quantity_value;
CREATE INDEX IF NOT EXISTS idx_quantity_match ON idx_quantity (param, value, rid, grp);
CREATE INDEX IF NOT EXISTS idx_quantity_rid ON idx_quantity (rid, param);

CREATE TABLE IF NOT EXISTS idx_reference (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
    target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL
);
DROP INDEX IF EXISTS idx_reference_lookup;
CREATE INDEX IF NOT EXISTS idx_reference_target
    ON idx_reference (param, target_id, target_type, rid);
CREATE INDEX IF NOT EXISTS idx_reference_rid ON idx_reference (rid, param);

CREATE TABLE IF NOT EXISTS idx_uri (
    rid INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL, value TEXT NOT NULL
);
DROP INDEX IF EXISTS idx_uri_lookup;
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (param, value, rid);
CREATE INDEX IF NOT EXISTS idx_uri_rid ON idx_uri (rid, param);

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

PATIENT_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_token_patient ON idx_token (patient, param, code, system, rid)"
    " WHERE patient IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_date_patient ON idx_date (patient, param, low, high, rid)"
    " WHERE patient IS NOT NULL",
)

PATIENT_TABLES = ("idx_token", "idx_date")
"""The index tables whose rows carry ``patient``."""

INDEX_TABLES = (
    "idx_token",
    "idx_string",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
)


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """Open a connection with the pragmas every connection needs."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={_synchronous(synchronous)}")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA mmap_size=2147418112")  # the most SQLite builds allow (2 GiB)
    return conn


def _synchronous(value: str) -> str:
    upper = value.upper()
    if upper not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"invalid SQLite synchronous setting {value!r}")
    return upper


def migrate(conn: sqlite3.Connection) -> None:
    """Create the schema when missing; bring an older database to the current version."""
    if not _has_patient_column(conn):
        _upgrade(conn, _has_patient_column, _add_patient_column)
    if not _has_resource_seq(conn):
        _upgrade(conn, _has_resource_seq, _move_current_versions)
    conn.executescript(DDL)
    for statement in PATIENT_INDEXES:
        conn.execute(statement)
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


def _has_resource_seq(conn: sqlite3.Connection) -> bool:
    """True also for a new (empty) database: DDL creates the column."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(resources)")]
    return not columns or "seq" in columns


def _move_current_versions(conn: sqlite3.Connection) -> None:
    """Give a version 2 database's current versions their ``seq``; drop their history copy."""
    conn.execute("ALTER TABLE resources ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "UPDATE resources SET seq = h.seq FROM history h WHERE h.type = resources.type"
        " AND h.id = resources.id AND h.version_id = resources.version_id"
    )
    conn.execute("DELETE FROM history WHERE seq IN (SELECT seq FROM resources)")


def _upgrade(
    conn: sqlite3.Connection,
    done: Callable[[sqlite3.Connection], bool],
    upgrade: Callable[[sqlite3.Connection], None],
) -> None:
    """Run ``upgrade`` in one write transaction unless ``done`` says it ran already.

    Another process opening the database meanwhile waits for it (up to ten minutes) and
    then finds it done.
    """
    conn.execute("PRAGMA busy_timeout=600000")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not done(conn):
            upgrade(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA busy_timeout=30000")


def _has_patient_column(conn: sqlite3.Connection) -> bool:
    """True also for a new (empty) database: DDL creates the column."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(idx_token)")]
    return not columns or "patient" in columns


def _add_patient_column(conn: sqlite3.Connection) -> None:
    """Add ``patient`` to the token and date rows of a version 1 database, and index it."""
    for table in PATIENT_TABLES:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN patient TEXT")
    _fill_patient_column(conn)
    for statement in PATIENT_INDEXES:
        conn.execute(statement)


def _fill_patient_column(conn: sqlite3.Connection) -> None:
    """Fill ``patient`` from the stored reference rows, as ``rows.patient_of`` computes it."""
    conn.execute("CREATE TEMP TABLE compartment_param (type TEXT, param TEXT)")
    conn.executemany(
        "INSERT INTO temp.compartment_param VALUES (?, ?)",
        [(t, p) for t in patient_compartment_types() for p in patient_compartment_params(t)],
    )
    conn.execute(
        "CREATE TEMP TABLE resource_patient AS"
        " SELECT rid, CASE WHEN min(pid) = max(pid) THEN min(pid) ELSE ? END AS patient FROM ("
        "  SELECT x.rid AS rid, x.target_id AS pid FROM idx_reference x"
        "  JOIN resources r ON r.rid = x.rid"
        "  WHERE x.target_type = 'Patient' AND (x.param = ? OR EXISTS (SELECT 1"
        "   FROM temp.compartment_param c WHERE c.type = r.type AND c.param = x.param))"
        "  UNION ALL SELECT rid, id FROM resources WHERE type = 'Patient'"
        " ) GROUP BY rid",
        (MANY_PATIENTS, PATIENT_PARAM),
    )
    for table in PATIENT_TABLES:
        conn.execute(
            f"UPDATE {table} SET patient = p.patient FROM temp.resource_patient p"
            f" WHERE p.rid = {table}.rid"
        )
    conn.execute("DROP TABLE temp.resource_patient")
    conn.execute("DROP TABLE temp.compartment_param")
