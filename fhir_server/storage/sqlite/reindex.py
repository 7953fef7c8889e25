"""Re-extract the search index of stored resources (``fhir-server reindex``) in SQLite.

Each batch of current versions gets its index rows deleted and rewritten in one write
transaction (``BEGIN IMMEDIATE`` waits for a running server's writes), so a search never
sees a resource without its index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from fhir_server.search.index import IndexEntry
from fhir_server.storage.sqlite.rows import delete_index, insert_index
from fhir_server.storage.sqlite.schema import INDEX_TABLES, connect

Extract = Callable[[dict[str, Any]], Sequence[IndexEntry]]
BATCH = 500


def reindex_sqlite(path: str, extract: Extract, resource_type: str | None = None) -> int:
    """Rewrite the index of every current resource (of ``resource_type``); how many."""
    conn = connect(path, "NORMAL")
    done, after = 0, 0
    where = "rid > ? AND deleted = 0" + (" AND type = ?" if resource_type else "")
    try:
        for _ in range(1 << 40):  # bounded by the table: stops on an empty batch
            params: tuple[object, ...] = (after, resource_type) if resource_type else (after,)
            rows = conn.execute(
                f"SELECT rid, type, id, content FROM resources WHERE {where} ORDER BY rid LIMIT ?",
                (*params, BATCH),
            ).fetchall()
            if not rows:
                break
            conn.execute("BEGIN IMMEDIATE")
            try:
                for rid, type_, id_, content in rows:
                    delete_index(conn, rid, INDEX_TABLES)
                    insert_index(conn, rid, type_, id_, extract(orjson.loads(content)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            done += len(rows)
            after = rows[-1][0]
    finally:
        conn.close()
    return done
