"""Index entries to rows of the SQLite index tables."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import assert_never

from fhir_server.search.index import (
    CompositeEntry,
    DateEntry,
    IndexEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)

Row = tuple[object, ...]

_INSERT = {
    "idx_token": "INSERT INTO idx_token VALUES (?, ?, ?, ?, ?, ?)",
    "idx_string": "INSERT INTO idx_string VALUES (?, ?, ?, ?, ?)",
    "idx_date": "INSERT INTO idx_date VALUES (?, ?, ?, ?, ?)",
    "idx_number": "INSERT INTO idx_number VALUES (?, ?, ?, ?, ?, ?)",
    "idx_quantity": "INSERT INTO idx_quantity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "idx_reference": "INSERT INTO idx_reference VALUES (?, ?, ?, ?, ?, ?)",
    "idx_uri": "INSERT INTO idx_uri VALUES (?, ?, ?, ?)",
}


def component_param(param: str, position: int) -> str:
    """The param name under which component ``position`` of a composite is indexed."""
    return f"{param}${position}"


def _row(rid: int, entry: IndexEntry, param: str, grp: int) -> tuple[str, Row]:
    match entry:
        case TokenEntry(system=system, code=code, text=text):
            return "idx_token", (rid, param, grp, system, code, text)
        case StringEntry(normalized=normalized, exact=exact):
            return "idx_string", (rid, param, grp, normalized, exact)
        case DateEntry(low=low, high=high):
            return "idx_date", (rid, param, grp, low, high)
        case NumberEntry(value=value, low=low, high=high):
            return "idx_number", (rid, param, grp, value, low, high)
        case QuantityEntry():
            return "idx_quantity", (
                rid,
                param,
                grp,
                entry.value,
                entry.low,
                entry.high,
                entry.system,
                entry.code,
                entry.canonical_value,
                entry.canonical_code,
            )
        case ReferenceEntry(target_type=target_type, target_id=target_id, url=url):
            return "idx_reference", (rid, param, grp, target_type, target_id, url)
        case UriEntry(value=value):
            return "idx_uri", (rid, param, grp, value)
        case CompositeEntry():
            raise TypeError("composite entries are flattened before conversion")
        case _:
            assert_never(entry)


def rows_by_table(rid: int, entries: Iterable[IndexEntry]) -> dict[str, list[Row]]:
    """Group the rows of ``entries`` by index table; composites get one group per value."""
    tables: dict[str, list[Row]] = defaultdict(list)
    grp = 0
    for entry in entries:
        if isinstance(entry, CompositeEntry):
            grp += 1
            for position, component in enumerate(entry.components):
                table, row = _row(rid, component, component_param(entry.param, position), grp)
                tables[table].append(row)
        else:
            table, row = _row(rid, entry, entry.param, 0)
            tables[table].append(row)
    return tables


def insert_index(conn: sqlite3.Connection, rid: int, entries: Sequence[IndexEntry]) -> None:
    """Insert the index rows of one resource version."""
    for table, rows in rows_by_table(rid, entries).items():
        conn.executemany(_INSERT[table], rows)


def delete_index(conn: sqlite3.Connection, rid: int, tables: Iterable[str]) -> None:
    """Remove every index row of a resource."""
    for table in tables:
        conn.execute(f"DELETE FROM {table} WHERE rid = ?", (rid,))
