"""Reads and writes on one SQLite connection; the store decides locking and commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from fhir_server.core.ports import (
    HistoryQuery,
    Method,
    OutboxEvent,
    Page,
    StoredVersion,
    VersionWrite,
)
from fhir_server.errors import VersionConflict
from fhir_server.model.instant import from_micros, to_micros
from fhir_server.search.ir import Query
from fhir_server.storage.sqlite.compile import compile_count, compile_query
from fhir_server.storage.sqlite.includes import fetch_includes
from fhir_server.storage.sqlite.rows import delete_index, insert_index, insert_index_many
from fhir_server.storage.sqlite.schema import INDEX_TABLES
from fhir_server.storage.sqlite.versions import to_version

_COLUMNS = "r.type, r.id, r.version_id, r.last_updated, r.method, r.content"
_MAX_INTEGER = 2**63 - 1  # SQLite INTEGER is 64-bit: no version or row position is larger
_IN_LIMIT = 500  # ids per IN list, well under SQLite's bound on host parameters


class SqliteSession:
    """The port's operations on one connection, without transaction control."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM resources r WHERE r.type = ? AND r.id = ?",
            (resource_type, id),
        ).fetchone()
        return None if row is None else to_version(row)

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        if version_id > _MAX_INTEGER:
            return None
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM resources r"
            " WHERE r.type = ? AND r.id = ? AND r.version_id = ?"
            " UNION ALL SELECT type, id, version_id, last_updated, method, content FROM history"
            " WHERE type = ? AND id = ? AND version_id = ?",
            (resource_type, id, version_id) * 2,
        ).fetchone()
        return None if row is None else to_version(row)

    def apply(self, writes: Sequence[VersionWrite]) -> None:
        seq = self._next_seq()
        for n, write in enumerate(writes):
            self._apply_one(write, seq + n)

    def _next_seq(self) -> int:
        """The ``seq`` of the next version written (both tables' largest plus one)."""
        row = self.conn.execute(
            "SELECT max(ifnull((SELECT max(seq) FROM resources), 0),"
            " ifnull((SELECT max(seq) FROM history), 0))"
        ).fetchone()
        return int(row[0]) + 1

    def _apply_one(self, w: VersionWrite, seq: int) -> None:
        row = self.conn.execute(
            "SELECT rid, version_id FROM resources WHERE type = ? AND id = ?",
            (w.resource_type, w.id),
        ).fetchone()
        current = 0 if row is None else int(row[1])
        if current != w.expected_version:
            raise VersionConflict(
                f"{w.resource_type}/{w.id} is at version {current}, not {w.expected_version}",
                code="version-conflict",
            )
        stamp = to_micros(w.last_updated)
        deleted = 1 if w.content is None else 0
        if row is None:
            rid = self._insert(w, stamp, deleted, seq)
        else:
            rid = int(row[0])
            self.conn.execute(
                "INSERT INTO history (seq, type, id, version_id, last_updated, method, content)"
                " SELECT seq, type, id, version_id, last_updated, method, content FROM resources"
                " WHERE rid = ?",
                (rid,),
            )
            self.conn.execute(
                "UPDATE resources SET version_id = ?, last_updated = ?, method = ?, deleted = ?,"
                " content = ?, seq = ? WHERE rid = ?",
                (w.version_id, stamp, w.method, deleted, w.content, seq, rid),
            )
            delete_index(self.conn, rid, INDEX_TABLES)
        if w.content is not None:
            insert_index(self.conn, rid, w.resource_type, w.id, w.index)
        self._record(w, stamp)

    def stored_among(self, writes: Sequence[VersionWrite]) -> list[VersionWrite]:
        """The writes whose resource is stored already (a deletion too), one query per type."""
        by_type: dict[str, dict[str, VersionWrite]] = {}
        for w in writes:
            by_type.setdefault(w.resource_type, {})[w.id] = w
        stored: list[VersionWrite] = []
        for resource_type, ids in by_type.items():
            keys = list(ids)
            for start in range(0, len(keys), _IN_LIMIT):
                chunk = keys[start : start + _IN_LIMIT]
                rows = self.conn.execute(
                    "SELECT id FROM resources WHERE type = ? AND id IN"
                    f" ({','.join('?' * len(chunk))})",
                    (resource_type, *chunk),
                ).fetchall()
                stored.extend(ids[row[0]] for row in rows)
        return stored

    def insert_new(self, writes: Sequence[VersionWrite]) -> None:
        """Store the first versions of resources never stored before, a table at a time.

        Each gets the rid SQLite would have given it (the largest so far plus one), so the
        result is the one ``apply`` gives, with one statement per table instead of several
        per resource. The caller has checked that none of them is stored yet.
        """
        top = self.conn.execute("SELECT max(rid) FROM resources").fetchone()[0]
        first = 1 if top is None else int(top) + 1
        if first + len(writes) > _MAX_INTEGER:  # SQLite picks free rids itself up there
            self.apply(writes)
            return
        stamps = [to_micros(w.last_updated) for w in writes]
        seq = self._next_seq()
        self.conn.executemany(
            "INSERT INTO resources (rid, type, id, version_id, last_updated, created, method,"
            " deleted, content, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    first + n,
                    w.resource_type,
                    w.id,
                    w.version_id,
                    stamp,
                    stamp,
                    w.method,
                    1 if w.content is None else 0,
                    w.content,
                    seq + n,
                )
                for n, (w, stamp) in enumerate(zip(writes, stamps, strict=True))
            ],
        )
        self.conn.executemany(
            "INSERT INTO outbox (type, id, version_id, method, recorded) VALUES (?, ?, ?, ?, ?)",
            [
                (w.resource_type, w.id, w.version_id, w.method, stamp)
                for w, stamp in zip(writes, stamps, strict=True)
            ],
        )
        insert_index_many(
            self.conn,
            (
                (first + n, w.resource_type, w.id, w.index)
                for n, w in enumerate(writes)
                if w.content is not None
            ),
        )

    def _insert(self, w: VersionWrite, stamp: int, deleted: int, seq: int) -> int:
        cursor = self.conn.execute(
            "INSERT INTO resources (type, id, version_id, last_updated, created, method, deleted,"
            " content, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (w.resource_type, w.id, w.version_id, stamp, stamp, w.method, deleted, w.content, seq),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _record(self, w: VersionWrite, stamp: int) -> None:
        """The version's outbox event."""
        self.conn.execute(
            "INSERT INTO outbox (type, id, version_id, method, recorded) VALUES (?, ?, ?, ?, ?)",
            (w.resource_type, w.id, w.version_id, w.method, stamp),
        )

    def search(self, query: Query) -> Page:
        """One page; the total is counted only when the page does not show where the end is.

        The page query asks for one row more than the page: without it, the page is the last
        one and the total is its offset plus its length.
        """
        rows = []
        if query.offset <= _MAX_INTEGER and query.count > 0:  # larger: past every result
            sql = compile_query(replace(query, count=query.count + 1), f"r.rid, {_COLUMNS}")
            rows = self.conn.execute(sql.text, sql.params).fetchall()
        ended = len(rows) <= query.count and (len(rows) > 0 or query.offset == 0)
        last_page = query.count > 0 and ended
        rows = rows[: query.count]
        entries = [to_version(row[1:]) for row in rows]
        total: int | None = None
        if query.total != "none":
            if last_page:
                total = query.offset + len(rows)
            else:
                count = compile_count(query)
                total = int(self.conn.execute(count.text, count.params).fetchone()[0])
        included = fetch_includes(self.conn, query, [int(row[0]) for row in rows], entries)
        return Page(entries, total, included)

    def explain(self, query: Query) -> str:
        sql = compile_query(query, _COLUMNS)
        plan = self.conn.execute(f"EXPLAIN QUERY PLAN {sql.text}", sql.params).fetchall()
        steps = "\n".join(str(step[-1]) for step in plan)
        return f"{sql.text}\n-- params: {sql.params!r}\n-- plan:\n{steps}"

    def history(self, query: HistoryQuery) -> Page:
        """Versions newest first, from both tables.

        Each table gives its newest ``offset + count`` matches in ``seq`` order (an index
        walk), and the page is cut from the merge of the two.
        """
        where, params = _history_where(query)
        columns = "seq, type, id, version_id, last_updated, method, content"
        rows: list[tuple[object, ...]] = []
        if query.offset <= _MAX_INTEGER - query.count:
            newest = query.offset + query.count
            rows = self.conn.execute(
                f"SELECT * FROM (SELECT {columns} FROM resources h WHERE {where}"
                " ORDER BY h.seq DESC LIMIT ?)"
                f" UNION ALL SELECT * FROM (SELECT {columns} FROM history h WHERE {where}"
                " ORDER BY h.seq DESC LIMIT ?) ORDER BY 1 DESC LIMIT ? OFFSET ?",
                (*params, newest, *params, newest, query.count, query.offset),
            ).fetchall()
        total = self.conn.execute(
            f"SELECT (SELECT count(*) FROM resources h WHERE {where})"
            f" + (SELECT count(*) FROM history h WHERE {where})",
            params * 2,
        )
        return Page([to_version(row[1:]) for row in rows], int(total.fetchone()[0]))

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        rows = self.conn.execute(
            "SELECT seq, type, id, version_id, method, recorded FROM outbox WHERE seq > ?"
            " ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return [
            OutboxEvent(int(s), str(t), str(i), int(v), _method(m), from_micros(int(rec)))
            for s, t, i, v, m, rec in rows
        ]


def _method(value: object) -> Method:
    if value in ("POST", "PUT", "PATCH", "DELETE"):
        return value
    raise ValueError(f"unknown method {value!r}")


def _history_where(query: HistoryQuery) -> tuple[str, tuple[object, ...]]:
    parts: list[str] = ["1"]
    params: list[object] = []
    if query.resource_type is not None:
        parts.append("h.type = ?")
        params.append(query.resource_type)
    if query.id is not None:
        parts.append("h.id = ?")
        params.append(query.id)
    if query.since is not None:
        parts.append("h.last_updated >= ?")
        params.append(to_micros(query.since))
    if query.until is not None:
        parts.append("h.last_updated <= ?")
        params.append(to_micros(query.until))
    if query.at is not None:
        scope = " AND ".join(p.replace("h.", "g.") for p in parts)
        parts.append(
            "h.seq IN (SELECT MAX(g.seq) FROM (SELECT seq, type, id, last_updated"
            " FROM resources UNION ALL SELECT seq, type, id, last_updated FROM history) g"
            f" WHERE g.last_updated <= ? AND {scope} GROUP BY g.type, g.id)"
        )
        params = [*params, to_micros(query.at), *params]
    return " AND ".join(parts), tuple(params)
