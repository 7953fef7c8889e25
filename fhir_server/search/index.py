"""Index entries: what a resource contributes to search, per search-parameter type.

https://hl7.org/fhir/R4/search.html#ptypes. Extraction (``search.extract``) produces these at
write time; each storage adapter stores them in its own shape (SQLite tables, a MongoDB
``_index`` sub-document) and the compilers query that shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """A coded value: system ("" when absent), code and display text (lower-cased)."""

    param: str
    system: str
    code: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class StringEntry:
    """A string: ``normalized`` is lower-cased with accents removed; ``exact`` as written."""

    param: str
    normalized: str
    exact: str


@dataclass(frozen=True, slots=True)
class DateEntry:
    """A date, dateTime, instant, Period or Timing as the range ``[low, high)`` in epoch seconds."""

    param: str
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class NumberEntry:
    """A number with its implicit precision range ``[low, high)``."""

    param: str
    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class QuantityEntry:
    """A quantity, with its UCUM-canonical value and unit when convertible."""

    param: str
    value: float
    low: float
    high: float
    system: str
    code: str
    canonical_value: float | None = None
    canonical_code: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    """A reference: the target type and id for relative refs, the URL for absolute ones."""

    param: str
    target_type: str
    target_id: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class UriEntry:
    """A uri, url or canonical value."""

    param: str
    value: str


@dataclass(frozen=True, slots=True)
class CompositeEntry:
    """A composite value: component entries taken from the same element."""

    param: str
    components: tuple[IndexEntry, ...]


IndexEntry: TypeAlias = (
    "TokenEntry | StringEntry | DateEntry | NumberEntry | QuantityEntry | ReferenceEntry"
    " | UriEntry | CompositeEntry"
)
