"""Search IR -> MongoDB filter documents. https://hl7.org/fhir/R4/search.html

Each leaf becomes an ``$elemMatch`` on ``_index.<kind>`` (see ``documents``) binding the
parameter code and the value on the same index entry; ``AnyOf`` -> ``$or``, ``AllOf`` ->
``$and`` (merged into one document where fields do not clash), ``Not`` -> ``$nor``.
``_id`` matches the document ``_id`` and ``_lastUpdated`` the ``ts`` field. Prefix
semantics for dates, numbers and quantities live in ``ranges``. String and token-text
values arrive normalised by the parser. The shape mirrors the SQLite compiler: one index
entry per ``$elemMatch`` where SQLite has one ``EXISTS`` row.

Injection: every search value lands in a *value* position as a typed BSON value (string,
double, int64), never in a key, and the only keys are the constant paths built here, so a
value such as ``{"$gt": ""}`` or ``$where`` is compared as the literal string it is. Regular
expressions are literal patterns (``_text.literal_pattern``: escaped for PCRE, NUL spelled
out, length checked); starts-with uses a plain range instead.

Chains and ``_has`` need the database: a ``Resolver`` runs the inner query first (ids),
then the outer filter tests references against those ids.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final, Protocol, TypeAlias, assert_never

from fhir_server.errors import UnsupportedParameter
from fhir_server.model.instant import to_epoch_seconds, to_micros
from fhir_server.search.ir import (
    AllOf,
    AnyOf,
    Chain,
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
from fhir_server.storage.mongo._text import contains, starts_with
from fhir_server.storage.mongo.documents import KINDS, component_param
from fhir_server.storage.mongo.ranges import (
    all_of,
    point_condition,
    range_condition,
    value_condition,
)

Filter = dict[str, Any]

INDEX: Final = "_index."
"""Path prefix of the index sub-document."""

_Value: TypeAlias = (
    "TokenMatch | TokenText | DateMatch | NumberMatch | QuantityMatch | StringMatch"
    " | UriMatch | RefMatch"
)
_VALUES: Final = (
    TokenMatch,
    TokenText,
    DateMatch,
    NumberMatch,
    QuantityMatch,
    StringMatch,
    UriMatch,
    RefMatch,
)


class Resolver(Protocol):
    """Runs the inner query of a chain or ``_has`` against the database."""

    @property
    def resource_type(self) -> str:
        """The type of the collection being searched."""
        ...

    def referenced_ids(self, target_type: str, where: Term) -> list[str]:
        """Ids of current ``target_type`` resources matching ``where``."""
        ...

    def referring_ids(self, source_type: str, param: str, where: Term) -> list[str]:
        """Ids of searched-type resources that a ``source_type`` match refers to via ``param``."""
        ...


def compile_query(query: Query, resolver: Resolver | None = None) -> Filter:
    """The ``$match`` filter of a search on one collection: current, non-deleted, matching."""
    base: Filter = {"deleted": False}
    if query.snapshot is not None:
        base["created"] = {"$lte": to_micros(query.snapshot)}
    return all_of(base, compile_term(query.where, resolver))


def compile_term(term: Term, resolver: Resolver | None = None) -> Filter:
    """One IR term as a MongoDB filter document.

    Args:
        term: the IR node.
        resolver: runs inner queries of ``Chain`` and ``Has``; required only for those.

    Raises:
        UnsupportedParameter: a chain or ``_has`` without a resolver.
        TooCostly: the resolver found too many resources for an inner query.
    """
    match term:
        case AnyOf(terms=terms):
            if not terms:
                return _nothing()
            branches = [compile_term(t, resolver) for t in terms]
            return branches[0] if len(branches) == 1 else {"$or": branches}
        case AllOf(terms=terms):
            return all_of(*(compile_term(t, resolver) for t in terms))
        case Not(term=inner):
            return {"$nor": [compile_term(inner, resolver)]}
        case Chain() | Has():
            return _joined(term, _needed(resolver))
        case Composite():
            return _composite(term)
        case Missing(param=param, missing=missing):
            return _missing(param, missing)
        case IsResource(resource_type=resource_type, id=id):
            same = _needed(resolver).resource_type == resource_type
            return {"_id": id} if same else _nothing()
        case TokenMatch(param="_id", code=code):
            return {} if code is None else {"_id": code}
        case DateMatch(param="_lastUpdated", cmp=cmp, low=low, high=high):
            return point_condition(cmp, "ts", to_micros(low), to_micros(high))
        case (
            TokenMatch()
            | TokenText()
            | DateMatch()
            | NumberMatch()
            | QuantityMatch()
            | StringMatch()
            | UriMatch()
            | RefMatch()
        ):
            return _entry(term)
        case _:
            assert_never(term)


def _joined(term: Chain | Has, resolver: Resolver) -> Filter:
    """A chain matches references to the inner ids; ``_has`` matches the referred ids."""
    if isinstance(term, Has):
        return {"_id": {"$in": resolver.referring_ids(term.source_type, term.param, term.where)}}
    ids = resolver.referenced_ids(term.target_type, term.where)
    cond = {"type": term.target_type, "id": {"$in": ids}}
    return _elem(INDEX + "reference", term.param, cond)


def _entry(term: _Value) -> Filter:
    kind, cond = _value(term)
    return _elem(INDEX + kind, term.param, cond)


def _value(term: _Value) -> tuple[str, Filter]:
    """The index kind a value term searches, and its condition on one entry."""
    match term:
        case TokenMatch(system=system, code=code):
            return "token", _present(s=system, c=code)
        case TokenText(text=text):
            return "token", starts_with("t", text)
        case DateMatch(cmp=cmp, low=low, high=high):
            ql, qh = to_epoch_seconds(low), to_epoch_seconds(high)
            return "date", range_condition(cmp, "lo", "hi", ql, qh)
        case NumberMatch(cmp=cmp, value=value, low=low, high=high):
            return "number", value_condition(cmp, "v", float(value), float(low), float(high))
        case QuantityMatch():
            return "quantity", _quantity(term)
        case StringMatch(value=value, mode=mode):
            return "string", _string(value, mode)
        case UriMatch(value=value, mode=mode):
            return "uri", _uri(value, mode)
        case RefMatch(url=str(url)):
            return "reference", {"url": url}
        case RefMatch(target_type=target_type, target_id=target_id):
            return "reference", _present(type=target_type, id=target_id)
        case _:
            assert_never(term)


def _elem(path: str, param: str, cond: Filter) -> Filter:
    """``param`` and ``cond`` on one entry of the index array at ``path``."""
    return {path: {"$elemMatch": all_of({"p": param}, cond)}}


def _nothing() -> Filter:
    return {"_id": {"$in": []}}


def _present(**fields: str | None) -> Filter:
    return {name: value for name, value in fields.items() if value is not None}


def _needed(resolver: Resolver | None) -> Resolver:
    if resolver is None:
        raise UnsupportedParameter(
            "chained and _has search need the database to resolve", code="chain-unresolved"
        )
    return resolver


def _quantity(term: QuantityMatch) -> Filter:
    """Value and unit as given, or (a code given) the canonical value in that canonical unit."""
    value, low, high = float(term.value), float(term.low), float(term.high)
    plain = all_of(
        _present(s=term.system, c=term.code), value_condition(term.cmp, "v", value, low, high)
    )
    if term.code is None:
        return plain
    canonical = all_of({"cc": term.code}, value_condition(term.cmp, "cv", value, low, high))
    return {"$or": [plain, canonical]}


def _string(value: str, mode: str) -> Filter:
    if mode == "exact":
        return {"e": value}
    if mode == "contains":
        return contains("n", value)
    return starts_with("n", value)


def _uri(value: str, mode: str) -> Filter:
    """``below``: the stored uri starts with the value; ``above``: it is a prefix of it."""
    if mode == "below":
        return starts_with("v", value)
    if mode == "above":
        return {"v": {"$in": [value[:end] for end in range(1, len(value) + 1)]}}
    return {"v": value}


def _composite(term: Composite) -> Filter:
    """Every component on one composite entry; component i is indexed as ``<param>$<i>``."""
    parts = []
    for position, component in enumerate(term.components):
        if not isinstance(component, _VALUES):
            raise TypeError("composite components must be simple values")
        indexed = replace(component, param=component_param(term.param, position))
        kind, cond = _value(indexed)
        parts.append(_elem(kind, indexed.param, cond))
    return _elem(INDEX + "composite", term.param, all_of(*parts))


def _missing(param: str, missing: bool) -> Filter:
    if param in ("_id", "_lastUpdated"):
        return _nothing() if missing else {}
    present = [{f"{INDEX}{kind}.p": param} for kind in KINDS]
    return {"$nor": present} if missing else {"$or": present}
