"""Search prefixes as MongoDB conditions. https://hl7.org/fhir/R4/search.html#prefix

The definitions are those of ``fhir_server.search._ranges`` (the in-memory matcher calls
them; every compiler translates the same inequalities, bound for bound). The search value
is ``[ql, qh)``, the precision range of what the client wrote.

Dates compare the target range ``[lo, hi)`` of an index entry::

    eq  lo >= ql and hi <= qh      ne  not eq
    gt  hi > qh                    lt  lo < ql
    ge  gt or eq                   le  lt or eq
    sa  lo >= qh                   eb  hi <= ql
    ap  lo < qh and hi > ql        (parse has already widened [ql, qh))

``_lastUpdated`` is the point ``ts`` (integer microseconds), i.e. the range
``[ts, ts + 1)``, which turns the same table into single comparisons on ``ts``
(gt: ``ts >= qh``, ge: ``ts >= ql``, le: ``ts < qh``, ...).

Numbers and quantities compare the target value ``v`` with the search value ``s``::

    eq, ap  ql <= v < qh           ne  not eq
    gt, sa  v > s                  lt, eb  v < s
    ge      v >= s                 le      v <= s

Inside an index ``$elemMatch`` each condition holds on one entry, so a resource matches
when any of its values does (``ne`` included), as for the SQLite ``EXISTS`` twin.
"""

from __future__ import annotations

from typing import Any, assert_never

from fhir_server.search.ir import Cmp

Cond = dict[str, Any]


def all_of(*conds: Cond) -> Cond:
    """The conjunction of ``conds`` as one document, falling back to ``$and`` on a clash.

    Operator documents on the same field merge (``{ts: {$gte: a}}`` and ``{ts: {$lt: b}}``
    give ``{ts: {$gte: a, $lt: b}}``) so that the planner sees one range per field.
    """
    out: Cond = {}
    for cond in conds:
        for key, value in cond.items():
            if key not in out:
                out[key] = value
            elif _mergeable(key, out[key], value):
                out[key] = {**out[key], **value}
            else:
                return {"$and": [c for c in conds if c]}
    return out


def _mergeable(key: str, left: Any, right: Any) -> bool:
    if key.startswith("$") or not isinstance(left, dict) or not isinstance(right, dict):
        return False
    keys = [*left, *right]
    return all(k.startswith("$") for k in keys) and len(set(keys)) == len(keys)


def range_condition(cmp: Cmp, lo: str, hi: str, ql: float, qh: float) -> Cond:
    """A date prefix on the target range fields ``[lo, hi)`` (see the module table)."""
    eq = {lo: {"$gte": ql}, hi: {"$lte": qh}}
    match cmp:
        case Cmp.EQ:
            return eq
        case Cmp.NE:
            return {"$nor": [eq]}
        case Cmp.GT:
            return {hi: {"$gt": qh}}
        case Cmp.LT:
            return {lo: {"$lt": ql}}
        case Cmp.GE:
            return {"$or": [{hi: {"$gt": qh}}, eq]}
        case Cmp.LE:
            return {"$or": [{lo: {"$lt": ql}}, eq]}
        case Cmp.SA:
            return {lo: {"$gte": qh}}
        case Cmp.EB:
            return {hi: {"$lte": ql}}
        case Cmp.AP:
            return {lo: {"$lt": qh}, hi: {"$gt": ql}}
        case _:
            assert_never(cmp)


def point_condition(cmp: Cmp, field: str, ql: int, qh: int) -> Cond:
    """A date prefix on an integer point ``[v, v + 1)`` (``_lastUpdated``)."""
    match cmp:
        case Cmp.EQ | Cmp.AP:
            return {field: {"$gte": ql, "$lt": qh}}
        case Cmp.NE:
            return {"$nor": [{field: {"$gte": ql, "$lt": qh}}]}
        case Cmp.GT | Cmp.SA:
            return {field: {"$gte": qh}}
        case Cmp.LT | Cmp.EB:
            return {field: {"$lt": ql}}
        case Cmp.GE:
            return {field: {"$gte": ql}}
        case Cmp.LE:
            return {field: {"$lt": qh}}
        case _:
            assert_never(cmp)


def value_condition(cmp: Cmp, field: str, value: float, ql: float, qh: float) -> Cond:
    """A number or quantity prefix on the target value ``field`` (see the module table)."""
    match cmp:
        case Cmp.EQ | Cmp.AP:
            return {field: {"$gte": ql, "$lt": qh}}
        case Cmp.NE:
            return {"$nor": [{field: {"$gte": ql, "$lt": qh}}]}
        case Cmp.GT | Cmp.SA:
            return {field: {"$gt": value}}
        case Cmp.LT | Cmp.EB:
            return {field: {"$lt": value}}
        case Cmp.GE:
            return {field: {"$gte": value}}
        case Cmp.LE:
            return {field: {"$lte": value}}
        case _:
            assert_never(cmp)
