"""``_include`` and ``_revinclude`` for SQLite. https://hl7.org/fhir/R4/search.html#include"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from fhir_server.core.ports import StoredVersion
from fhir_server.search.ir import Include, Query
from fhir_server.storage.sqlite.versions import to_version

MAX_INCLUDED = 1000
MAX_ITERATIONS = 4
_COLUMNS = "r.rid, r.type, r.id, r.version_id, r.last_updated, r.method, r.content"


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _forward(conn: sqlite3.Connection, inc: Include, rids: list[int]) -> list[sqlite3.Row]:
    sql = (
        f"SELECT DISTINCT {_COLUMNS} FROM idx_reference x JOIN resources r"
        " ON r.type = x.target_type AND r.id = x.target_id"
        f" JOIN resources src ON src.rid = x.rid"
        f" WHERE x.rid IN ({_marks(rids)}) AND r.deleted = 0"
    )
    params: list[object] = [*rids]
    if inc.source_type != "*":
        sql += " AND src.type = ?"
        params.append(inc.source_type)
    if inc.param != "*":
        sql += " AND x.param = ?"
        params.append(inc.param)
    if inc.target_type is not None:
        sql += " AND r.type = ?"
        params.append(inc.target_type)
    return conn.execute(sql + " LIMIT ?", (*params, MAX_INCLUDED)).fetchall()


def _reverse(conn: sqlite3.Connection, inc: Include, rids: list[int]) -> list[sqlite3.Row]:
    sql = (
        f"SELECT DISTINCT {_COLUMNS} FROM resources t"
        " JOIN idx_reference x ON x.target_type = t.type AND x.target_id = t.id"
        " JOIN resources r ON r.rid = x.rid"
        f" WHERE t.rid IN ({_marks(rids)}) AND r.type = ? AND r.deleted = 0"
    )
    params: list[object] = [*rids, inc.source_type]
    if inc.param != "*":
        sql += " AND x.param = ?"
        params.append(inc.param)
    if inc.target_type is not None:
        sql += " AND t.type = ?"
        params.append(inc.target_type)
    return conn.execute(sql + " LIMIT ?", (*params, MAX_INCLUDED)).fetchall()


def fetch_includes(
    conn: sqlite3.Connection, query: Query, rids: list[int], matches: list[StoredVersion]
) -> list[StoredVersion]:
    """Resources included by the query's directives, excluding the matches themselves."""
    if not query.includes or not rids:
        return []
    seen = {(m.resource_type, m.id) for m in matches}
    included: list[StoredVersion] = []
    frontier = rids
    for iteration in range(MAX_ITERATIONS):
        found: list[int] = []
        for inc in query.includes:
            if iteration > 0 and not inc.iterate:
                continue
            rows = (_reverse if inc.reverse else _forward)(conn, inc, frontier)
            for row in rows:
                version = to_version(row[1:])
                key = (version.resource_type, version.id)
                if key not in seen and len(included) < MAX_INCLUDED:
                    seen.add(key)
                    included.append(version)
                    found.append(int(row[0]))
        if not found:
            break
        frontier = found
    return included
