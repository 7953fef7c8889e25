"""Backend-neutral search IR. https://hl7.org/fhir/R4/search.html

A query string is parsed once into these closed, typed, immutable nodes; each storage
backend compiles them (SQL for SQLite, a filter document for MongoDB) and the in-memory
matcher evaluates them. Every compiler ends its ``match`` in ``assert_never`` so a new node
is a type error until every backend handles it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Literal, TypeAlias


class Cmp(Enum):
    """Search prefixes (comparators) for ordered values."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"
    SA = "sa"
    EB = "eb"
    AP = "ap"


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """A token search value.

    Attributes:
        param: the parameter code (``_id`` matches the logical id).
        system: None for any system, "" for explicitly no system.
        code: None for any code in ``system``.
    """

    param: str
    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class TokenText:
    """``:text`` on a token: starts-with on the display text of a coding or concept."""

    param: str
    text: str


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date search value, as the half-open range ``[low, high)`` of its precision.

    Attributes:
        param: the parameter code (``_lastUpdated`` matches ``meta.lastUpdated``).
        cmp: the prefix.
        low: inclusive start of the value's implicit range (UTC).
        high: exclusive end of the value's implicit range (UTC).
    """

    param: str
    cmp: Cmp
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class NumberMatch:
    """A number search value with its implicit precision range ``[low, high)``."""

    param: str
    cmp: Cmp
    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class QuantityMatch:
    """A quantity search value; system/code None match any unit.

    When the system is UCUM and the unit converts, parse gives ``value``, ``low``, ``high``
    and ``code`` in canonical units (``search._ucum``); see ``search._ranges`` for how a
    value is compared with ``QuantityEntry.value`` and ``canonical_value``.
    """

    param: str
    cmp: Cmp
    value: Decimal
    low: Decimal
    high: Decimal
    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class StringMatch:
    """A string search value (case- and accent-insensitive unless ``exact``)."""

    param: str
    value: str
    mode: Literal["starts", "exact", "contains"] = "starts"


@dataclass(frozen=True, slots=True)
class UriMatch:
    """A uri search value."""

    param: str
    value: str
    mode: Literal["exact", "below", "above"] = "exact"


@dataclass(frozen=True, slots=True)
class RefMatch:
    """A reference search value: ``Type/id``, ``id`` (any target type) or an absolute URL."""

    param: str
    target_type: str | None
    target_id: str | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Missing:
    """``:missing=true|false``."""

    param: str
    missing: bool


@dataclass(frozen=True, slots=True)
class IsResource:
    """The resource is ``resource_type/id`` itself (a compartment holds its own resource)."""

    resource_type: str
    id: str


@dataclass(frozen=True, slots=True)
class Chain:
    """``param:Type.rest``: the referenced resource must satisfy ``where``."""

    param: str
    target_type: str
    where: Term


@dataclass(frozen=True, slots=True)
class Has:
    """``_has:Type:param:rest``: some ``Type`` referring through ``param`` satisfies ``where``."""

    source_type: str
    param: str
    where: Term


@dataclass(frozen=True, slots=True)
class Composite:
    """A composite value: every component holds on the same element."""

    param: str
    components: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Comma-separated values: any may match."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Repeated parameters: all must match."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation (``:not``, ``ne``)."""

    term: Term


Term: TypeAlias = (
    "TokenMatch | TokenText | DateMatch | NumberMatch | QuantityMatch | StringMatch | UriMatch"
    " | RefMatch | Missing | IsResource | Chain | Has | Composite | AnyOf | AllOf | Not"
)


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``_sort`` key.

    Attributes:
        param: the parameter code (``_id``, ``_lastUpdated`` or a registered parameter).
        descending: ``-`` prefix.
        param_type: the parameter's search type (token, string, date, ...), for the compilers.
    """

    param: str
    descending: bool = False
    param_type: str = ""


@dataclass(frozen=True, slots=True)
class Include:
    """One ``_include`` or ``_revinclude``: ``source_type:param[:target_type]``."""

    source_type: str
    param: str
    target_type: str | None = None
    iterate: bool = False
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A whole search.

    Attributes:
        resource_types: the types searched (one for type-level search; several for ``_type``).
        where: the filter; an empty AllOf matches everything.
        count: page size.
        offset: index of the first entry of the page.
        sort: sort keys; ties break on (lastUpdated, id) so paging is stable.
        includes: ``_include`` and ``_revinclude`` directives.
        total: ``_total`` mode.
        snapshot: only resources created at or before this instant match, so paging that
            started earlier neither skips nor repeats entries while others write.
        summary: ``_summary`` (true, false, text, data, count), None when absent.
        elements: ``_elements`` names, in request order.
    """

    resource_types: tuple[str, ...]
    where: AllOf = field(default_factory=lambda: AllOf(()))
    count: int = 20
    offset: int = 0
    sort: tuple[SortKey, ...] = ()
    includes: tuple[Include, ...] = ()
    total: Literal["none", "estimate", "accurate"] = "accurate"
    snapshot: datetime | None = None
    summary: Literal["true", "false", "text", "data", "count"] | None = None
    elements: tuple[str, ...] = ()
