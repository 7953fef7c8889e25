"""Search IR to SQL for the SQLite index schema. https://hl7.org/fhir/R4/search.html

Every value travels as a bound parameter; prefixes are compared as in ``ranges``.

Each leaf tests one index row: ``EXISTS (SELECT 1 FROM idx_<kind> WHERE rid = r.rid ...)``.
In every conjunction (the query itself, a chain's target, a ``_has`` source) one term is
chosen to *drive*: it becomes ``r.rid IN (SELECT rid ...)``, an uncorrelated subquery
SQLite runs once through the index table's lookup index, and the other terms that need
only the rid are checked inside it, so the rows examined are the driver's matches rather
than every resource of the type. The driver is the term most likely to be selective
(``_rank``: a reference to one resource first, then codes and composites, strings, chains,
dates and numbers); negations, ``:missing``, ``:contains`` and ``:above`` never drive.

When the query names one patient (``_patient``: ``subject=Patient/1``,
``patient=Patient/1``, a compartment search), its token and date terms drive together
instead: each selects from that patient's rows only (``patient IN (<id>, '*')`` on
``idx_token_patient``/``idx_date_patient``) and their ``INTERSECT`` is the set the other
terms are checked on. A patient's rows are
neighbours in those indexes, where the rows of a patient's resources are spread over every
page of the rid-ordered ones.
``schema`` has the indexes these subqueries use (``tests/contract/test_search_plans.py``).
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
    IsResource,
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
from fhir_server.storage.sqlite.ranges import point_sql, range_sql, value_sql
from fhir_server.storage.sqlite.rows import MANY_PATIENTS, component_param, patient_params
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
            return _conjunction(terms, r, names)
        case AnyOf(terms=terms):
            return Sql.join(" OR ", [compile_term(t, r, names) for t in terms], "0")
        case Not(term=inner):
            return compile_term(inner, r, names).negate()
        case Missing(param=param, missing=missing):
            return _missing(r, param, missing)
        case IsResource(resource_type=resource_type, id=id):
            return Sql(f"({r}.type = ? AND {r}.id = ?)", (resource_type, id))
        case Chain():
            return _chain(term, r, names)
        case Has():
            return _has(term, r, names)
        case Composite():
            select = _composite(term, names, r)
            return Sql(f"EXISTS ({select.text})", select.params)
        case TokenMatch(param="_id", code=code):
            return Sql(f"{r}.id = ?", (code,))
        case DateMatch(param="_lastUpdated", cmp=cmp, low=low, high=high):
            return point_sql(cmp, f"{r}.last_updated", to_micros(low), to_micros(high))
        case _:
            return _exists(term, r, names)


def _rank(term: Term) -> int | None:
    """How well ``term`` drives a search (lower first); None: never."""
    match term:
        case TokenMatch(param="_id") | DateMatch(param="_lastUpdated") | IsResource():
            return 0  # the resources table's own indexes serve these
        case RefMatch(target_id=target_id, url=url):
            return 1 if target_id is not None or url is not None else 5
        case TokenMatch(code=code):
            return 2 if code is not None else 5
        case Composite():
            return 2
        case StringMatch(mode=mode):
            return None if mode == "contains" else 3
        case UriMatch(mode=mode):
            return None if mode == "above" else 3
        case Chain() | Has():
            return 3
        case DateMatch() | NumberMatch() | QuantityMatch():
            return 4
        case AnyOf(terms=terms):  # a UNION of index subqueries; _id has no index rows
            ranks = [_rank(t) for t in terms]
            if not ranks or None in ranks or 0 in ranks:
                return None
            return max(r for r in ranks if r is not None)
        case _:
            return None


def _movable(term: Term) -> bool:
    """Whether ``term`` looks at nothing of the resource row but its rid."""
    match term:
        case TokenMatch(param="_id") | DateMatch(param="_lastUpdated") | IsResource() | Has():
            return False
        case AllOf(terms=terms) | AnyOf(terms=terms):
            return all(_movable(t) for t in terms)
        case Not(term=inner):
            return _movable(inner)
        case _:
            return True


def _driver(terms: tuple[Term, ...]) -> int | None:
    """The position of the term that drives the conjunction ``terms``, if any."""
    ranked = [(rank, i) for i, t in enumerate(terms) if (rank := _rank(t)) is not None]
    if not ranked or min(ranked)[0] == 0:
        return None
    return min(ranked)[1]


def _patient(term: Term, resource_types: tuple[str, ...]) -> str | None:
    """The Patient every resource matching ``term`` belongs to (``rows.patient_of``), if one."""
    match term:
        case RefMatch(param=param, target_type="Patient", target_id=str() as patient, url=None):
            linked = all(param in patient_params(t) for t in resource_types)
            return patient if linked else None
        case IsResource(resource_type="Patient", id=patient):
            return patient
        case AnyOf(terms=(first, *rest)):
            one = _patient(first, resource_types)
            return one if all(_patient(t, resource_types) == one for t in rest) else None
        case _:
            return None


def _scoped(term: Term) -> bool:
    """Whether ``term`` can select from one patient's rows (``idx_token``/``idx_date``)."""
    match term:
        case TokenMatch(param=param):
            return param != "_id"
        case DateMatch(param=param):
            return param != "_lastUpdated"
        case AnyOf(terms=terms):
            return bool(terms) and all(_scoped(t) for t in terms)
        case _:
            return False


def _scoped_rids(term: Term, patient: str, names: _Aliases) -> Sql:
    """``SELECT rid`` of the resources of ``patient``'s compartment satisfying ``term``."""
    match term:
        case AnyOf(terms=terms):
            selects = [_scoped_rids(t, patient, names) for t in terms]
            union = " UNION ".join(s.text for s in selects)
            return Sql(f"SELECT rid FROM ({union})", tuple(v for s in selects for v in s.params))
        case TokenMatch() | DateMatch():
            a = names.next("p")
            table, cond = _leaf(term, a)
            return Sql(
                f"SELECT {a}.rid FROM {table} {a} WHERE {a}.patient IN (?, ?) AND {a}.param = ?"
                f" AND {cond.text}",
                (patient, MANY_PATIENTS, term.param, *cond.params),
            )
        case _:
            raise TypeError(f"{type(term).__name__} cannot select one patient's rows")


def _driving(
    terms: tuple[Term, ...], patient: str | None, names: _Aliases
) -> tuple[Sql, list[Term]] | None:
    """The driving ``SELECT rid`` of a conjunction and the terms it leaves to check."""
    driver = _driver(terms)
    if driver is None:
        return None
    if patient is not None and any(_scoped(t) for t in terms):
        selects = [_scoped_rids(t, patient, names) for t in terms if _scoped(t)]
        rids = Sql(
            " INTERSECT ".join(s.text for s in selects), tuple(v for s in selects for v in s.params)
        )
        return rids, [t for t in terms if not _scoped(t)]
    return _rids(terms[driver], names), [t for i, t in enumerate(terms) if i != driver]


def _conjunction(
    terms: tuple[Term, ...], r: str, names: _Aliases, patient: str | None = None
) -> Sql:
    """AND of ``terms``, driven as ``r.rid IN (...)`` by the best-ranked one(s).

    The terms that only need the rid are checked inside the driving subquery, so only the
    rows that satisfy them all are read from ``resources``. ``patient``: every match is in
    this Patient's compartment (``_patient``), so the scoped terms drive together.
    """
    driving = _driving(terms, patient, names)
    if driving is None:
        return Sql.join(" AND ", [compile_term(t, r, names) for t in terms], "1")
    rids, others = driving
    u = names.next("u")
    inside = Sql.all(compile_term(t, u, names) for t in others if _movable(t))
    outside = [compile_term(t, r, names) for t in others if not _movable(t)]
    driven = Sql(
        f"{r}.rid IN (SELECT {u}.rid FROM ({rids.text}) {u} WHERE {inside.text})",
        rids.params + inside.params,
    )
    return Sql.join(" AND ", [driven, *outside], "1")


def _rids(term: Term, names: _Aliases) -> Sql:
    """An uncorrelated ``SELECT rid`` of the resources satisfying a drivable term."""
    match term:
        case AnyOf(terms=terms):
            selects = [_rids(t, names) for t in terms]
            return Sql(
                " UNION ".join(s.text for s in selects), tuple(v for s in selects for v in s.params)
            )
        case Composite():
            return _composite(term, names)
        case Chain():
            return _chain_rids(term, names)
        case Has():
            return _has_rids(term, names)
        case (
            TokenMatch()
            | StringMatch()
            | UriMatch()
            | DateMatch()
            | NumberMatch()
            | QuantityMatch()
            | RefMatch()
        ):
            a = names.next("d")
            table, cond = _leaf(term, a)
            return Sql(
                f"SELECT {a}.rid FROM {table} {a} WHERE {a}.param = ? AND {cond.text}",
                (term.param, *cond.params),
            )
        case _:
            raise TypeError(f"{type(term).__name__} cannot drive a search")


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
    # a composite value is indexed as its components: component 0 stands for the whole
    probes = " UNION ALL ".join(
        f"SELECT 1 FROM {t} WHERE rid = {r}.rid AND param IN (?, ?)" for t in INDEX_TABLES
    )
    text = f"{'NOT ' if missing else ''}EXISTS ({probes})"
    return Sql(text, (param, component_param(param, 0)) * len(INDEX_TABLES))


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


def _chain_rids(term: Chain, names: _Aliases) -> Sql:
    x, t = names.next("x"), names.next("t")
    inner = compile_term(AllOf((term.where,)), t, names)
    return Sql(
        f"SELECT {x}.rid FROM resources {t} JOIN idx_reference {x}"
        f" ON {x}.target_type = {t}.type AND {x}.target_id = {t}.id"
        f" WHERE {x}.param = ? AND {t}.type = ? AND {t}.deleted = 0 AND {inner.text}",
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


def _has_rids(term: Has, names: _Aliases) -> Sql:
    x, s, t = names.next("x"), names.next("s"), names.next("t")
    inner = compile_term(AllOf((term.where,)), s, names)
    return Sql(
        f"SELECT {t}.rid FROM resources {s} JOIN idx_reference {x} ON {x}.rid = {s}.rid"
        f" JOIN resources {t} ON {t}.type = {x}.target_type AND {t}.id = {x}.target_id"
        f" WHERE {x}.param = ? AND {s}.type = ? AND {s}.deleted = 0 AND {inner.text}",
        (term.param, term.source_type, *inner.params),
    )


_RANGES = frozenset({Cmp.GT, Cmp.LT, Cmp.GE, Cmp.LE, Cmp.SA, Cmp.EB})


def _composite_order(term: Composite) -> list[tuple[int, Term]]:
    """Components, a threshold (``gt``, ``lt``...) first: it is usually the rarer one."""
    ranged = [
        (i, c)
        for i, c in enumerate(term.components)
        if isinstance(c, QuantityMatch | NumberMatch | DateMatch) and c.cmp in _RANGES
    ]
    return ranged + [(i, c) for i, c in enumerate(term.components) if (i, c) not in ranged]


def _composite(term: Composite, names: _Aliases, r: str | None = None) -> Sql:
    """``SELECT <first>.rid`` of the rows holding every component in one group (of ``r``).

    The tables are joined with ``CROSS JOIN``, which SQLite never reorders, in the order of
    ``_composite_order``.
    """
    first_alias = ""
    froms: list[str] = []
    conds: list[Sql] = []
    for position, component in _composite_order(term):
        if not isinstance(component, Leaf):
            raise TypeError("composite components must be simple values")
        a = names.next("c")
        table, cond = _leaf(component, a)
        froms.append(f"{table} {a}")
        if first_alias:
            link = f"{a}.rid = {first_alias}.rid AND {a}.grp = {first_alias}.grp AND "
        else:
            link = f"{a}.rid = {r}.rid AND " if r is not None else ""
        first_alias = first_alias or a
        param = component_param(term.param, position)
        conds.append(Sql(f"{link}{a}.param = ? AND {cond.text}", (param, *cond.params)))
    where = Sql.all(conds)
    joined = " CROSS JOIN ".join(froms)
    return Sql(f"SELECT {first_alias}.rid FROM {joined} WHERE {where.text}", where.params)


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
    codes = _exact_codes(query)
    if codes is not None:
        return _codes_where(marks, query.resource_types, *codes)
    # with a driver, unary + keeps SQLite from preferring the (type, deleted) index to it
    plus = "+" if _driver(query.where.terms) is not None else ""
    parts = [Sql(f"{plus}r.type IN ({marks}) AND {plus}r.deleted = 0", tuple(query.resource_types))]
    if query.snapshot is not None:
        parts.append(Sql("r.created <= ?", (to_micros(query.snapshot),)))
    if query.where.terms:
        terms = query.where.terms
        patients = (_patient(t, query.resource_types) for t in terms)
        patient = next((p for p in patients if p is not None), None)
        parts.append(_conjunction(terms, "r", _Aliases(), patient))
    return Sql.all(parts)


def _exact_codes(query: Query) -> tuple[str, list[TokenMatch]] | None:
    """The parameter and ``system|code`` values of a search for exact tokens of one parameter.

    That is the search of every conditional create or update of mapped device data
    (``identifier=s|v``, OR-ed over a Bundle's readings); ``_codes_where`` writes its SQL
    directly, which takes a tenth of the time the general compiler needs for the same plan.
    """
    if query.snapshot is not None or len(query.where.terms) != 1:
        return None
    (term,) = query.where.terms
    leaves = term.terms if isinstance(term, AnyOf) else (term,)
    first = leaves[0] if leaves else None
    if not isinstance(first, TokenMatch) or first.param == "_id":
        return None
    exact: list[TokenMatch] = []
    for leaf in leaves:
        if type(leaf) is not TokenMatch or leaf.param != first.param:
            return None
        if leaf.system is None or leaf.code is None:
            return None
        exact.append(leaf)
    return first.param, exact


def _codes_where(
    marks: str, resource_types: tuple[str, ...], param: str, leaves: list[TokenMatch]
) -> Sql:
    union = " UNION ".join(
        "SELECT rid FROM idx_token WHERE param = ? AND code = ? AND system = ?" for _ in leaves
    )
    params = [v for leaf in leaves for v in (param, leaf.code, leaf.system)]
    return Sql(
        f"+r.type IN ({marks}) AND +r.deleted = 0 AND r.rid IN ({union})",
        (*resource_types, *params),
    )


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
