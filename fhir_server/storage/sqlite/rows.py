"""Index entries to rows of the SQLite index tables.

Token and date rows also carry ``patient``: the id of the Patient whose compartment holds the
resource (``patient_of``), so a patient's codes and dates are neighbours in their indexes
(docs/adr/0004-index-schema.md).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import assert_never

from fhir_server.search.compartment import patient_compartment_params
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
    "idx_token": "INSERT INTO idx_token (rid, param, grp, system, code, text, patient)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "idx_string": "INSERT INTO idx_string VALUES (?, ?, ?, ?, ?)",
    "idx_date": "INSERT INTO idx_date (rid, param, grp, low, high, patient)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "idx_number": "INSERT INTO idx_number VALUES (?, ?, ?, ?, ?, ?)",
    "idx_quantity": "INSERT INTO idx_quantity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "idx_reference": "INSERT INTO idx_reference VALUES (?, ?, ?, ?, ?, ?)",
    "idx_uri": "INSERT INTO idx_uri VALUES (?, ?, ?, ?)",
}


MANY_PATIENTS = "*"
"""``patient`` of a resource in several patients' compartments (no FHIR id contains ``*``)."""


PATIENT_PARAM = "patient"


@cache
def patient_params(resource_type: str) -> frozenset[str]:
    """The reference parameters that tie a resource to a Patient for ``patient_of``.

    Its Patient compartment parameters
    (https://hl7.org/fhir/R4/compartmentdefinition-patient.html) and ``patient`` (e.g.
    ``Observation.patient``, a subset of ``subject`` that the compartment does not list).
    """
    return frozenset((*patient_compartment_params(resource_type), PATIENT_PARAM))


def patient_of(resource_type: str, id: str, entries: Iterable[IndexEntry]) -> str | None:
    """The Patient the resource belongs to; ``MANY_PATIENTS`` for several; None for none.

    The Patients it refers to as ``Patient/<id>`` through ``patient_params``; a Patient
    belongs to itself too.
    """
    params = patient_params(resource_type)
    ids = {
        e.target_id
        for e in entries
        if isinstance(e, ReferenceEntry) and e.param in params and e.target_type == "Patient"
    }
    if resource_type == "Patient":
        ids.add(id)
    if not ids:
        return None
    return ids.pop() if len(ids) == 1 else MANY_PATIENTS


def component_param(param: str, position: int) -> str:
    """The param name under which component ``position`` of a composite is indexed."""
    return f"{param}${position}"


def _row(rid: int, entry: IndexEntry, param: str, grp: int, patient: str | None) -> tuple[str, Row]:
    match entry:
        case TokenEntry(system=system, code=code, text=text):
            return "idx_token", (rid, param, grp, system, code, text, patient)
        case StringEntry(normalized=normalized, exact=exact):
            return "idx_string", (rid, param, grp, normalized, exact)
        case DateEntry(low=low, high=high):
            return "idx_date", (rid, param, grp, low, high, patient)
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


def rows_by_table(
    rid: int, entries: Iterable[IndexEntry], patient: str | None
) -> dict[str, list[Row]]:
    """Group the rows of ``entries`` by index table; composites get one group per value."""
    tables: dict[str, list[Row]] = defaultdict(list)
    grp = 0
    for entry in entries:
        if isinstance(entry, CompositeEntry):
            grp += 1
            for position, component in enumerate(entry.components):
                name = component_param(entry.param, position)
                table, row = _row(rid, component, name, grp, patient)
                tables[table].append(row)
        else:
            table, row = _row(rid, entry, entry.param, 0, patient)
            tables[table].append(row)
    return tables


def insert_index(
    conn: sqlite3.Connection, rid: int, resource_type: str, id: str, entries: Sequence[IndexEntry]
) -> None:
    """Insert the index rows of the current version of ``resource_type/id``."""
    insert_index_many(conn, [(rid, resource_type, id, entries)])


def insert_index_many(
    conn: sqlite3.Connection, resources: Iterable[tuple[int, str, str, Sequence[IndexEntry]]]
) -> None:
    """Insert the index rows of several resources (rid, type, id, entries), a table at a time."""
    tables: dict[str, list[Row]] = defaultdict(list)
    for rid, resource_type, id, entries in resources:
        patient = patient_of(resource_type, id, entries)
        for table, rows in rows_by_table(rid, entries, patient).items():
            tables[table].extend(rows)
    for table, rows in tables.items():
        conn.executemany(_INSERT[table], rows)


def delete_index(conn: sqlite3.Connection, rid: int, tables: Iterable[str]) -> None:
    """Remove every index row of a resource."""
    for table in tables:
        conn.execute(f"DELETE FROM {table} WHERE rid = ?", (rid,))
