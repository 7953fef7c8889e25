"""Index entries: what a resource contributes to search, per search-parameter type.

https://hl7.org/fhir/R4/search.html#ptypes. Extraction (``search.extract``) produces these at
write time; each storage adapter stores them in its own shape (SQLite tables, a MongoDB
``_index`` sub-document) and the compilers query that shape.

Entries are named tuples: immutable, cheaper to build than frozen dataclasses and hashed in
C (extraction makes dozens per resource and deduplicates them). They compare like records:
an entry equals only an entry of the same class with equal fields, never a plain tuple or
an entry of another class with the same values.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias, TypeVar

_Entry = TypeVar("_Entry", bound=tuple[Any, ...])


def _record_eq(self: tuple[Any, ...], other: object) -> bool:
    if type(other) is type(self):
        return tuple.__eq__(self, other)
    return False if isinstance(other, tuple) else NotImplemented


def _record_ne(self: tuple[Any, ...], other: object) -> bool:
    if type(other) is type(self):
        return tuple.__ne__(self, other)
    return True if isinstance(other, tuple) else NotImplemented


def _record_equality(cls: type[_Entry]) -> type[_Entry]:
    """Make ``cls`` compare like a dataclass: equal only to an instance of its very class.

    The hash stays the tuple's (equal entries have equal fields, so equal hashes).
    """
    cls.__eq__ = _record_eq  # type: ignore[method-assign]
    cls.__ne__ = _record_ne  # type: ignore[method-assign,assignment]
    return cls


@_record_equality
class TokenEntry(NamedTuple):
    """A coded value: system ("" when absent), code and display text (lower-cased)."""

    param: str
    system: str
    code: str
    text: str = ""


@_record_equality
class StringEntry(NamedTuple):
    """A string: ``normalized`` is lower-cased with accents removed; ``exact`` as written."""

    param: str
    normalized: str
    exact: str


@_record_equality
class DateEntry(NamedTuple):
    """A date, dateTime, instant, Period or Timing as the range ``[low, high)`` in epoch seconds."""

    param: str
    low: float
    high: float


@_record_equality
class NumberEntry(NamedTuple):
    """A number with its implicit precision range ``[low, high)``."""

    param: str
    value: float
    low: float
    high: float


@_record_equality
class QuantityEntry(NamedTuple):
    """A quantity, with its UCUM-canonical value and unit when convertible."""

    param: str
    value: float
    low: float
    high: float
    system: str
    code: str
    canonical_value: float | None = None
    canonical_code: str | None = None


@_record_equality
class ReferenceEntry(NamedTuple):
    """A reference: the target type and id for relative refs, the URL for absolute ones."""

    param: str
    target_type: str
    target_id: str
    url: str = ""


@_record_equality
class UriEntry(NamedTuple):
    """A uri, url or canonical value."""

    param: str
    value: str


@_record_equality
class CompositeEntry(NamedTuple):
    """A composite value: component entries taken from the same element."""

    param: str
    components: tuple[IndexEntry, ...]


IndexEntry: TypeAlias = (
    "TokenEntry | StringEntry | DateEntry | NumberEntry | QuantityEntry | ReferenceEntry"
    " | UriEntry | CompositeEntry"
)
