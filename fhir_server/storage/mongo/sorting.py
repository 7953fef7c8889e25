"""``_sort`` as aggregation stages. https://hl7.org/fhir/R4/search.html#sort

``_id`` sorts on ``_id`` and ``_lastUpdated`` on ``ts``. Any other parameter sorts on the
smallest of the resource's index values for it when ascending and the largest when
descending (for dates: the lowest ``lo`` / the highest ``hi``), computed per document with
``$filter``/``$map`` over the index kind of its type, as the SQLite twin does with
``MIN``/``MAX`` subqueries. Resources without a value sort last in both directions. Ties
always break on ``(created, _id)`` ascending: creation order, which an update does not
change, so offset paging neither skips nor repeats a resource updated meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fhir_server.errors import UnsupportedParameter
from fhir_server.search.ir import SortKey

Doc = dict[str, Any]

_FIELDS: Final = {
    "date": ("lo", "hi"),
    "number": ("v", "v"),
    "quantity": ("v", "v"),
    "string": ("n", "n"),
    "token": ("c", "c"),
    "uri": ("v", "v"),
    "reference": ("id", "id"),
}
"""Per parameter type (= index kind), the entry field sorted on ascending and descending."""

_TIE_BREAK: Final = (("created", 1), ("_id", 1))


@dataclass(frozen=True, slots=True)
class SortPlan:
    """How to order one collection's matches.

    Attributes:
        stages: ``$addFields`` stages computing parameter sort values (none for ``_id``/ts).
        order: the ``$sort`` specification, tie-break included, as (field, 1 | -1) pairs.
    """

    stages: tuple[Doc, ...]
    order: tuple[tuple[str, int], ...]

    def fields(self) -> list[str]:
        """The fields a page must carry to be merged with another collection's."""
        return [name for name, _ in self.order if name != "_id"]


def sort_plan(keys: Sequence[SortKey]) -> SortPlan:
    """The stages and ``$sort`` order for ``keys``.

    Raises:
        UnsupportedParameter: a key's parameter type cannot be sorted on (composite, special).
    """
    collect: Doc = {}
    reduce: Doc = {}
    order: dict[str, int] = {}
    for i, key in enumerate(keys):
        direction = -1 if key.descending else 1
        if key.param in ("_id", "_lastUpdated"):
            order.setdefault("_id" if key.param == "_id" else "ts", direction)
            continue
        value, missing = f"_s{i}", f"_m{i}"
        collect[value] = _values(key)
        reduce[value] = {"$max" if key.descending else "$min": f"${value}"}
        reduce[missing] = {"$eq": [{"$size": f"${value}"}, 0]}
        order[missing] = 1
        order[value] = direction
    for name, direction in _TIE_BREAK:
        order.setdefault(name, direction)
    stages = ({"$addFields": collect}, {"$addFields": reduce}) if collect else ()
    return SortPlan(stages, tuple(order.items()))


def _values(key: SortKey) -> Doc:
    if key.param_type not in _FIELDS:
        raise UnsupportedParameter(f"_sort by {key.param!r} is not supported", code="sort")
    ascending, descending = _FIELDS[key.param_type]
    field = descending if key.descending else ascending
    literal = {"$literal": key.param}  # a parameter code is data, never a field path
    entries = {"$ifNull": [f"$_index.{key.param_type}", []]}
    mine = {"$filter": {"input": entries, "as": "e", "cond": {"$eq": ["$$e.p", literal]}}}
    return {"$map": {"input": mine, "as": "e", "in": f"$$e.{field}"}}


def compare(left: Mapping[str, Any], right: Mapping[str, Any], plan: SortPlan) -> int:
    """Order two documents (from different collections) as ``plan.order`` would."""
    for name, direction in plan.order:
        result = _compare_values(left.get(name), right.get(name))
        if result:
            return result * direction
    return 0


def _compare_values(left: Any, right: Any) -> int:
    """BSON order for the values a sort key holds: null < numbers < strings < others."""
    left_rank, right_rank = _rank(left), _rank(right)
    if left_rank != right_rank:
        return -1 if left_rank < right_rank else 1
    if left_rank == 0 or left == right:
        return 0
    return -1 if left < right else 1


def _rank(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return 2
    return 3
