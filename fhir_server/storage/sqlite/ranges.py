"""Prefix comparisons as SQL. https://hl7.org/fhir/R4/search.html#prefix

Range comparisons use the target range ``[tl, th)`` and the search range ``[ql, qh)``: eq
contained, gt ``th > qh``, lt ``tl < ql``, ge/le gt/lt or eq, sa ``tl >= qh``, eb
``th <= ql``, ap overlap (the parser widens ``ap`` ranges). Numbers and quantities compare
the value itself (``search/_ranges.py``); ``_lastUpdated`` is a point.
"""

from __future__ import annotations

from typing import assert_never

from fhir_server.search.ir import Cmp
from fhir_server.storage.sqlite.sql import Sql


def range_sql(cmp: Cmp, lo: str, hi: str, ql: object, qh: object) -> Sql:
    """Compare the target range columns ``[lo, hi)`` with the search range ``[ql, qh)``."""
    eq = Sql(f"({lo} >= ? AND {hi} <= ?)", (ql, qh))
    match cmp:
        case Cmp.EQ:
            return eq
        case Cmp.NE:
            return eq.negate()
        case Cmp.GT:
            return Sql(f"{hi} > ?", (qh,))
        case Cmp.LT:
            return Sql(f"{lo} < ?", (ql,))
        case Cmp.GE:
            return Sql(f"({hi} > ? OR {eq.text})", (qh, *eq.params))
        case Cmp.LE:
            return Sql(f"({lo} < ? OR {eq.text})", (ql, *eq.params))
        case Cmp.SA:
            return Sql(f"{lo} >= ?", (qh,))
        case Cmp.EB:
            return Sql(f"{hi} <= ?", (ql,))
        case Cmp.AP:
            return Sql(f"({lo} < ? AND {hi} > ?)", (qh, ql))
        case _:
            assert_never(cmp)


def _within(cmp: Cmp, col: str, ql: object, qh: object) -> Sql:
    """``col`` inside ``[ql, qh)`` (eq, ap), or not inside it (ne)."""
    inside = f"({col} >= ? AND {col} < ?)"
    return Sql(f"NOT {inside}" if cmp is Cmp.NE else inside, (ql, qh))


def point_sql(cmp: Cmp, col: str, ql: object, qh: object) -> Sql:
    """Compare a point value column with the search range ``[ql, qh)``."""
    match cmp:
        case Cmp.EQ | Cmp.AP | Cmp.NE:
            return _within(cmp, col, ql, qh)
        case Cmp.GT | Cmp.SA:
            return Sql(f"{col} >= ?", (qh,))
        case Cmp.LT | Cmp.EB:
            return Sql(f"{col} < ?", (ql,))
        case Cmp.GE:
            return Sql(f"{col} >= ?", (ql,))
        case Cmp.LE:
            return Sql(f"{col} < ?", (qh,))
        case _:
            assert_never(cmp)


def value_sql(cmp: Cmp, col: str, value: float, ql: float, qh: float) -> Sql:
    """Compare a number column with a search value and its precision range (search/_ranges.py)."""
    match cmp:
        case Cmp.EQ | Cmp.AP | Cmp.NE:
            return _within(cmp, col, ql, qh)
        case Cmp.GT | Cmp.SA:
            return Sql(f"{col} > ?", (value,))
        case Cmp.LT | Cmp.EB:
            return Sql(f"{col} < ?", (value,))
        case Cmp.GE:
            return Sql(f"{col} >= ?", (value,))
        case Cmp.LE:
            return Sql(f"{col} <= ?", (value,))
        case _:
            assert_never(cmp)
