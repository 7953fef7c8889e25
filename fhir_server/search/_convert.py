"""FHIR values (what an expression selects) to typed index entries, by parameter type.

https://hl7.org/fhir/R4/search.html#ptypes. The FHIR data type is recognised by shape, so
the fast path and fhirpathpy feed the same converter:

* token: Coding ``system|code`` (text: display); CodeableConcept: each coding, plus a
  text-only entry (system and code "") for ``CodeableConcept.text``; Identifier
  ``system|value`` (text: ``type.text``) and, per ``type.coding``, an entry under
  ``"<code>:of-type"`` with system = type system and code = ``"<type code>|<value>"``;
  ContactPoint ``system|value`` (system is phone, email, ...); boolean ``true``/``false``;
  code, string, uri, id as code with system "".
* string: plain strings; HumanName family, given, prefix, suffix, text; Address line,
  city, district, state, postalCode, country, text.
* date: date, dateTime, instant (precision range), Period (open ends are the
  ``_dates`` sentinels), Timing (each event, and ``repeat.boundsPeriod``).
* number: the value and its precision range. quantity: Quantity (and Age, Duration, ...)
  with the UCUM canonical value and code when the system is UCUM; Money with system
  ``urn:iso:std:iso:4217``.
* reference: Reference.reference (see ``_references``) and, for ``Reference.identifier``,
  a token entry under ``"<code>:identifier"``; canonical strings as url (a versioned
  canonical also without its ``|version``).
* uri: strings.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fhir_server.search._dates import MAX_EPOCH, MIN_EPOCH, epoch_range
from fhir_server.search._ranges import precision_range
from fhir_server.search._references import parse_reference
from fhir_server.search._text import normalize
from fhir_server.search._ucum import UCUM_SYSTEM, canonical_unit
from fhir_server.search.index import (
    DateEntry,
    IndexEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)

Converter = Callable[[str, Any, list[IndexEntry]], None]
"""Appends the entries of one value of parameter ``code`` to a list."""

_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
_CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def token(code: str, value: Any, out: list[IndexEntry]) -> None:
    """Token entries of a Coding, CodeableConcept, Identifier, ContactPoint or primitive."""
    if isinstance(value, dict):
        if "coding" in value or ("text" in value and "value" not in value):
            _codeable_concept(code, value, out)
        elif isinstance(value.get("value"), str):
            _identifier_or_contact(code, value, out)
        elif "value" not in value:
            _coding(code, value, out)
    elif isinstance(value, str):
        out.append(TokenEntry(code, "", value))
    elif isinstance(value, bool):
        out.append(TokenEntry(code, "", "true" if value else "false"))
    elif isinstance(value, int | Decimal):
        out.append(TokenEntry(code, "", str(value)))


def _coding(code: str, coding: dict[str, Any], out: list[IndexEntry]) -> None:
    system, value = coding.get("system", ""), coding.get("code", "")
    if system or value:
        out.append(TokenEntry(code, system, value, normalize(coding.get("display", ""))))


def _codeable_concept(code: str, concept: dict[str, Any], out: list[IndexEntry]) -> None:
    texts = set()
    for coding in concept.get("coding", ()):
        if isinstance(coding, dict):
            display = normalize(coding.get("display", ""))
            system, value = coding.get("system", ""), coding.get("code", "")
            if system or value:
                out.append(TokenEntry(code, system, value, display))
            texts.add(display)
    text = concept.get("text", "")
    if text != "":
        text = normalize(text)
        if text and text not in texts:
            out.append(TokenEntry(code, "", "", text))


def _identifier_or_contact(code: str, value: dict[str, Any], out: list[IndexEntry]) -> None:
    system = value.get("system", "")
    if system in _CONTACT_SYSTEMS:
        out.append(TokenEntry(code, system, value["value"]))
        return
    kind = value.get("type") or {}
    out.append(TokenEntry(code, system, value["value"], normalize(kind.get("text", ""))))
    for coding in kind.get("coding", ()):
        if coding.get("code"):
            typed = f"{coding['code']}|{value['value']}"
            out.append(TokenEntry(f"{code}:of-type", coding.get("system", ""), typed))


def string(code: str, value: Any, out: list[IndexEntry]) -> None:
    """String entries of a string, HumanName or Address."""
    if isinstance(value, str):
        out.append(StringEntry(code, normalize(value), value))
    elif isinstance(value, dict):
        parts = _NAME_PARTS if "family" in value or "given" in value else _ADDRESS_PARTS
        for part in parts:
            item = value.get(part)
            if isinstance(item, str):
                out.append(StringEntry(code, normalize(item), item))
            elif isinstance(item, list):
                out.extend([StringEntry(code, normalize(t), t) for t in item if isinstance(t, str)])


def date(code: str, value: Any, out: list[IndexEntry]) -> None:
    """Date entries of a date, dateTime, instant, Period or Timing."""
    if isinstance(value, str):
        bounds = epoch_range(value)
        if bounds is not None:
            out.append(DateEntry(code, bounds[0], bounds[1]))
    elif isinstance(value, dict):
        if "start" in value or "end" in value:
            _period(code, value, out)
        for event in value.get("event", ()):
            date(code, event, out)
        bounds_period = (value.get("repeat") or {}).get("boundsPeriod")
        if bounds_period:
            _period(code, bounds_period, out)


def _period(code: str, period: dict[str, Any], out: list[IndexEntry]) -> None:
    start = epoch_range(period.get("start") or "")
    end = epoch_range(period.get("end") or "")
    if start is None and end is None:
        return
    low = start[0] if start is not None else MIN_EPOCH
    high = end[1] if end is not None else MAX_EPOCH
    out.append(DateEntry(code, low, high))


def number(code: str, value: Any, out: list[IndexEntry]) -> None:
    """A number entry of an integer or decimal."""
    text = _decimal_text(value)
    ranged = None if text is None else _ranged(text)
    if ranged is not None:
        out.append(NumberEntry(code, ranged[0], ranged[1], ranged[2]))


def quantity(code: str, value: Any, out: list[IndexEntry]) -> None:
    """A quantity entry of a Quantity (or Age, Duration, Distance, Count) or Money."""
    if not isinstance(value, dict):
        return
    text = _decimal_text(value.get("value"))
    ranged = None if text is None else _ranged(text)
    if text is None or ranged is None:
        return
    if "currency" in value:
        system, unit = _CURRENCY_SYSTEM, value["currency"]
    else:
        system, unit = value.get("system", ""), value.get("code") or value.get("unit", "")
    canonical = canonical_unit(unit) if system == UCUM_SYSTEM and unit else None
    out.append(
        QuantityEntry(
            code,
            ranged[0],
            ranged[1],
            ranged[2],
            system,
            unit,
            _canonical_value(text, unit) if canonical else None,
            canonical.code if canonical else None,
        )
    )


def reference(code: str, value: Any, out: list[IndexEntry]) -> None:
    """Reference entries of a Reference, or of a canonical/uri string."""
    if isinstance(value, dict):
        text = value.get("reference")
        if isinstance(text, str):
            _reference_text(code, text, out)
        identifier = value.get("identifier")
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            system = identifier.get("system", "")
            out.append(TokenEntry(f"{code}:identifier", system, identifier["value"]))
    elif isinstance(value, str):
        _reference_text(code, value, out)


def _reference_text(code: str, text: str, out: list[IndexEntry]) -> None:
    parsed = parse_reference(text)
    if parsed is None:
        return
    out.append(ReferenceEntry(code, parsed.target_type, parsed.target_id, parsed.url))
    if "|" in parsed.url:
        unversioned = parsed.url.split("|", 1)[0]
        out.append(ReferenceEntry(code, parsed.target_type, parsed.target_id, unversioned))


def uri(code: str, value: Any, out: list[IndexEntry]) -> None:
    """A uri entry of a uri, url or canonical string."""
    if isinstance(value, str):
        out.append(UriEntry(code, value))


def _decimal_text(value: Any) -> str | None:
    """The text of an integer or decimal (JSON numbers; booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return str(value)


@lru_cache(maxsize=4096)
def _ranged(text: str) -> tuple[float, float, float] | None:
    """A finite decimal's value and precision range (cached: a feed repeats its readings)."""
    parsed = Decimal(text)
    if not parsed.is_finite():
        return None
    low, high = precision_range(parsed)
    return float(parsed), float(low), float(high)


@lru_cache(maxsize=4096)
def _canonical_value(text: str, ucum_code: str) -> float:
    """A decimal in the canonical units of a UCUM code that ``_ucum`` understands."""
    unit = canonical_unit(ucum_code)
    assert unit is not None, "_canonical_value needs a code with a canonical form"
    return float(unit.convert(Decimal(text)))


CONVERTERS: dict[str, Converter] = {
    "token": token,
    "string": string,
    "date": date,
    "number": number,
    "quantity": quantity,
    "reference": reference,
    "uri": uri,
}
"""The converter of each parameter type (composite and special are not converted here)."""
