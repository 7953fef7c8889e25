"""Search IR to SQL for the SQLite index schema. https://hl7.org/fhir/R4/search.html

Every value travels as a bound parameter. Range comparisons follow
https://hl7.org/fhir/R4/search.html#prefix with the target range ``[tl, th)`` and the search
range ``[ql, qh)``: eq contained, gt ``th > qh``, lt ``tl < ql``, ge/le gt/lt or eq, sa
``tl >= qh``, eb ``th <= ql``, ap overlap (the parser widens ``ap`` ranges).
"""

from __future__ import annotations

from typing import assert_never

from fhir_server.errors import UnsupportedParameter
from fhir_server.model.instant import to_epoch_seconds, to_micros
from fhir_server.search.ir import (
    AllOf,
    AnyOf,
    Chain,
    Cmp,
    Composite,
    DateMatch,
    Has,
    Missing,
    Not,
    NumberMatch,
    QuantityMatch,
    Query,
    RefMatch,
    StringMatch,
    Term,
    TokenMatch,
    TokenText,
    UriMatch,
)
from fhir_server.storage.sqlite.rows import component_param
from fhir_server.storage.sqlite.schema import INDEX_TABLES
from fhir_server.storage.sqlite.sql import Sql

_TOP = "\U0010ffff"
Leaf = (
    TokenMatch
    | TokenText
    | DateMatch
    | NumberMatch
    | QuantityMatch
    | StringMatch
    | UriMatch
    | RefMatch
)


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


def point_sql(cmp: Cmp, col: str, ql: object, qh: object) -> Sql:
    """Compare a point value column with the search range ``[ql, qh)``."""
    match cmp:
        case Cmp.EQ | Cmp.AP:
            return Sql(f"({col} >= ? AND {col} < ?)", (ql, qh))
        case Cmp.NE:
            return Sql(f"NOT ({col} >= ? AND {col} < ?)", (ql, qh))
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
        case Cmp.EQ | Cmp.AP:
            return Sql(f"({col} >= ? AND {col} < ?)", (ql, qh))
        case Cmp.NE:
            return Sql(f"NOT ({col} >= ? AND {col} < ?)", (ql, qh))
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


def _leaf(term: Leaf, a: str) -> tuple[str, Sql]:
    """The index table of a leaf and its condition on rows aliased ``a``."""
    match term:
        case TokenMatch(system=system, code=code):
            parts = []
            if code is not None:
                parts.append(Sql(f"{a}.code = ?", (code,)))
            if system is not None:
                parts.append(Sql(f"{a}.system = ?", (system,)))
            return "idx_token", Sql.all(parts)
        case TokenText(text=text):
            return "idx_token", Sql(f"{a}.text >= ? AND {a}.text < ?", (text, text + _TOP))
        case StringMatch(value=value, mode=mode):
            return "idx_string", _string(a, value, mode)
        case DateMatch(cmp=cmp, low=low, high=high):
            ql, qh = to_epoch_seconds(low), to_epoch_seconds(high)
            return "idx_date", range_sql(cmp, f"{a}.low", f"{a}.high", ql, qh)
        case NumberMatch(cmp=cmp, value=value, low=low, high=high):
            return "idx_number", value_sql(cmp, f"{a}.value", float(value), float(low), float(high))
        case QuantityMatch():
            return "idx_quantity", _quantity(a, term)
        case UriMatch(value=value, mode=mode):
            return "idx_uri", _uri(a, value, mode)
        case RefMatch():
            return "idx_reference", _reference(a, term)
        case _:
            assert_never(term)


def _string(a: str, value: str, mode: str) -> Sql:
    if mode == "exact":
        return Sql(f"{a}.exact = ?", (value,))
    if mode == "contains":
        return Sql(f"instr({a}.normalized, ?) > 0", (value,))
    return Sql(f"{a}.normalized >= ? AND {a}.normalized < ?", (value, value + _TOP))


def _quantity(a: str, term: QuantityMatch) -> Sql:
    v, ql, qh = float(term.value), float(term.low), float(term.high)
    parts = [value_sql(term.cmp, f"{a}.value", v, ql, qh)]
    if term.code is not None:
        parts.append(Sql(f"{a}.code = ?", (term.code,)))
    if term.system is not None:
        parts.append(Sql(f"{a}.system = ?", (term.system,)))
    plain = Sql.all(parts)
    if term.code is None:
        return plain
    canonical = Sql.all(
        [
            value_sql(term.cmp, f"{a}.canonical_value", v, ql, qh),
            Sql(f"{a}.canonical_code = ?", (term.code,)),
        ]
    )
    return Sql(f"({plain.text} OR {canonical.text})", plain.params + canonical.params)


def _uri(a: str, value: str, mode: str) -> Sql:
    if mode == "below":
        return Sql(f"{a}.value >= ? AND {a}.value < ?", (value, value + _TOP))
    if mode == "above":
        return Sql(f"substr(?, 1, length({a}.value)) = {a}.value", (value,))
    return Sql(f"{a}.value = ?", (value,))


def _reference(a: str, term: RefMatch) -> Sql:
    if term.url is not None:
        return Sql(f"{a}.url = ?", (term.url,))
    parts = []
    if term.target_id is not None:
        parts.append(Sql(f"{a}.target_id = ?", (term.target_id,)))
    if term.target_type is not None:
        parts.append(Sql(f"{a}.target_type = ?", (term.target_type,)))
    return Sql.all(parts)


class _Aliases:
    """Fresh table aliases for nested subqueries."""

    def __init__(self) -> None:
        self._n = 0

    def next(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"


def compile_term(term: Term, r: str = "r", aliases: _Aliases | None = None) -> Sql:
    """Compile a term to a condition on the resources row aliased ``r``."""
    names = aliases or _Aliases()
    match term:
        case AllOf(terms=terms):
            return Sql.join(" AND ", [compile_term(t, r, names) for t in terms], "1")
        case AnyOf(terms=terms):
            return Sql.join(" OR ", [compile_term(t, r, names) for t in terms], "0")
        case Not(term=inner):
            return compile_term(inner, r, names).negate()
        case Missing(param=param, missing=missing):
            return _missing(r, param, missing)
        case Chain():
            return _chain(term, r, names)
        case Has():
            return _has(term, r, names)
        case Composite():
            return _composite(term, r, names)
        case TokenMatch(param="_id", code=code):
            return Sql(f"{r}.id = ?", (code,))
        case DateMatch(param="_lastUpdated", cmp=cmp, low=low, high=high):
            return point_sql(cmp, f"{r}.last_updated", to_micros(low), to_micros(high))
        case _:
            return _exists(term, r, names)


def _exists(term: Leaf, r: str, names: _Aliases) -> Sql:
    a = names.next("i")
    table, cond = _leaf(term, a)
    return Sql(
        f"EXISTS (SELECT 1 FROM {table} {a} WHERE {a}.rid = {r}.rid AND {a}.param = ?"
        f" AND {cond.text})",
        (term.param, *cond.params),
    )


def _missing(r: str, param: str, missing: bool) -> Sql:
    if param == "_id" or param == "_lastUpdated":
        return Sql("0" if missing else "1")
    probes = " UNION ALL ".join(
        f"SELECT 1 FROM {t} WHERE rid = {r}.rid AND param = ?" for t in INDEX_TABLES
    )
    text = f"{'NOT ' if missing else ''}EXISTS ({probes})"
    return Sql(text, (param,) * len(INDEX_TABLES))


def _chain(term: Chain, r: str, names: _Aliases) -> Sql:
    x, t = names.next("x"), names.next("t")
    inner = compile_term(term.where, t, names)
    return Sql(
        f"EXISTS (SELECT 1 FROM idx_reference {x} JOIN resources {t}"
        f" ON {t}.type = {x}.target_type AND {t}.id = {x}.target_id"
        f" WHERE {x}.rid = {r}.rid AND {x}.param = ? AND {t}.type = ? AND {t}.deleted = 0"
        f" AND {inner.text})",
        (term.param, term.target_type, *inner.params),
    )


def _has(term: Has, r: str, names: _Aliases) -> Sql:
    x, s = names.next("x"), names.next("s")
    inner = compile_term(term.where, s, names)
    return Sql(
        f"EXISTS (SELECT 1 FROM idx_reference {x} JOIN resources {s} ON {s}.rid = {x}.rid"
        f" WHERE {x}.param = ? AND {x}.target_type = {r}.type AND {x}.target_id = {r}.id"
        f" AND {s}.type = ? AND {s}.deleted = 0 AND {inner.text})",
        (term.param, term.source_type, *inner.params),
    )


def _composite(term: Composite, r: str, names: _Aliases) -> Sql:
    first_alias = ""
    froms: list[str] = []
    conds: list[Sql] = []
    for position, component in enumerate(term.components):
        if not isinstance(component, Leaf):
            raise TypeError("composite components must be simple values")
        a = names.next("c")
        table, cond = _leaf(component, a)
        froms.append(f"{table} {a}")
        link = f"{a}.rid = {r}.rid" if not first_alias else f"{a}.rid = {first_alias}.rid"
        if first_alias:
            link += f" AND {a}.grp = {first_alias}.grp"
        first_alias = first_alias or a
        param = component_param(term.param, position)
        conds.append(Sql(f"{link} AND {a}.param = ? AND {cond.text}", (param, *cond.params)))
    where = Sql.all(conds)
    return Sql(f"EXISTS (SELECT 1 FROM {', '.join(froms)} WHERE {where.text})", where.params)


_SORT_COLUMNS = {
    "token": ("idx_token", "code", "code"),
    "string": ("idx_string", "normalized", "normalized"),
    "date": ("idx_date", "low", "high"),
    "number": ("idx_number", "value", "value"),
    "quantity": ("idx_quantity", "value", "value"),
    "reference": ("idx_reference", "target_id", "target_id"),
    "uri": ("idx_uri", "value", "value"),
}


def compile_where(query: Query) -> Sql:
    """The WHERE clause of a search over the resources table aliased ``r``."""
    marks = ", ".join("?" for _ in query.resource_types)
    parts = [Sql(f"r.type IN ({marks}) AND r.deleted = 0", tuple(query.resource_types))]
    if query.snapshot is not None:
        parts.append(Sql("r.created <= ?", (to_micros(query.snapshot),)))
    if query.where.terms:
        parts.append(compile_term(query.where))
    return Sql.all(parts)


def compile_order(query: Query) -> Sql:
    """The ORDER BY clause; ties always break on the row id, so paging is stable."""
    keys: list[Sql] = []
    for key in query.sort:
        direction = "DESC" if key.descending else "ASC"
        if key.param == "_id":
            keys.append(Sql(f"r.id {direction}"))
        elif key.param == "_lastUpdated":
            keys.append(Sql(f"r.last_updated {direction}"))
        elif key.param_type in _SORT_COLUMNS:
            table, low, high = _SORT_COLUMNS[key.param_type]
            agg = f"MAX(s.{high})" if key.descending else f"MIN(s.{low})"
            sub = f"(SELECT {agg} FROM {table} s WHERE s.rid = r.rid AND s.param = ?)"
            keys.append(Sql(f"{sub} IS NULL, {sub} {direction}", (key.param, key.param)))
        else:
            raise UnsupportedParameter(f"_sort by {key.param!r} is not supported")
    keys.append(Sql("r.rid ASC"))
    return Sql(", ".join(k.text for k in keys), tuple(v for k in keys for v in k.params))


def compile_query(query: Query, columns: str) -> Sql:
    """The SELECT of one page of a search."""
    where, order = compile_where(query), compile_order(query)
    return Sql(
        f"SELECT {columns} FROM resources r WHERE {where.text} ORDER BY {order.text}"
        " LIMIT ? OFFSET ?",
        (*where.params, *order.params, query.count, query.offset),
    )


def compile_count(query: Query) -> Sql:
    """The SELECT counting every match of a search."""
    where = compile_where(query)
    return Sql(f"SELECT count(*) FROM resources r WHERE {where.text}", where.params)
