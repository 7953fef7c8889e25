"""One search value (already split on commas) to an IR leaf, by parameter type.

https://hl7.org/fhir/R4/search.html#ptypes. A malformed value raises ``InvalidRequest``
naming the parameter. ``ne`` stays a ``Cmp.NE`` leaf: like every prefix it holds when some
value of the resource satisfies it, so a resource without a value never matches ``ne``
(``:not`` on tokens is the negation that matches absent values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from conformance.definitions import resource_types
from fhir_server.errors import InvalidRequest, UnsupportedParameter
from fhir_server.search._dates import date_range
from fhir_server.search._ranges import approximate_range, approximate_value, precision_range
from fhir_server.search._references import parse_reference
from fhir_server.search._text import normalize, split_escaped, unescape
from fhir_server.search._ucum import UCUM_SYSTEM, canonical_unit
from fhir_server.search.ir import (
    Cmp,
    Composite,
    DateMatch,
    NumberMatch,
    QuantityMatch,
    RefMatch,
    StringMatch,
    Term,
    TokenMatch,
    TokenText,
    UriMatch,
)
from fhir_server.search.registry import Registry, SearchParam

_PREFIX = re.compile(r"(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[-+.0-9])")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_STRING_MODES: dict[str | None, Literal["starts", "contains"]] = {"contains": "contains"}
_URI_MODES: dict[str | None, Literal["exact", "below", "above"]] = {
    "below": "below",
    "above": "above",
}


@dataclass(frozen=True, slots=True)
class ValueContext:
    """What value parsing needs besides the value.

    Attributes:
        registry: resolves composite components.
        now: the instant ``ap`` dates are approximated against.
        base_url: this server's base; absolute references under it become relative.
    """

    registry: Registry
    now: datetime
    base_url: str | None = None


def parse_value(param: SearchParam, modifier: str | None, value: str, ctx: ValueContext) -> Term:
    """The IR leaf for one value of ``param`` (``modifier`` already validated)."""
    match param.type:
        case "token":
            return _token(param.code, modifier, value)
        case "string":
            text = unescape(value)
            if modifier == "exact":
                return StringMatch(param.code, text, "exact")
            return StringMatch(param.code, normalize(text), _STRING_MODES.get(modifier, "starts"))
        case "uri":
            return UriMatch(param.code, unescape(value), _URI_MODES.get(modifier, "exact"))
        case "reference":
            return _reference(param, modifier, value, ctx)
        case "date":
            return _date(param, value, ctx)
        case "number":
            return _number(param, value)
        case "quantity":
            return _quantity(param, value)
        case "composite":
            return _composite(param, value, ctx)
    raise UnsupportedParameter(f"search parameter {param.code!r} ({param.type}) is not supported")


def _invalid(param: str, value: str, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"invalid value {value!r} for search parameter {param!r}: {what}",
        code="invalid-search-value",
        expression=(param,),
    )


def _token(code: str, modifier: str | None, value: str) -> Term:
    if modifier == "text":
        return TokenText(code, normalize(unescape(value)))
    parts = [unescape(p) for p in split_escaped(value, "|")]
    if modifier == "of-type":
        if len(parts) != 3 or not all(parts):
            raise _invalid(code, value, "expected system|code|value")
        return TokenMatch(f"{code}:of-type", parts[0], f"{parts[1]}|{parts[2]}")
    if modifier == "identifier":
        code = f"{code}:identifier"
    if len(parts) == 1:
        return TokenMatch(code, None, parts[0])
    if len(parts) != 2 or not any(parts):
        raise _invalid(code, value, "expected [system|]code (escape '|' as '\\|')")
    return TokenMatch(code, parts[0], parts[1] or None)


def _reference(param: SearchParam, modifier: str | None, value: str, ctx: ValueContext) -> Term:
    if modifier == "identifier":
        return _token(param.code, modifier, value)
    text = unescape(value)
    if ctx.base_url and text.startswith(ctx.base_url.rstrip("/") + "/"):
        text = text[len(ctx.base_url.rstrip("/")) + 1 :]
    parsed = parse_reference(text)
    if parsed is not None and parsed.url:
        return RefMatch(param.code, None, None, parsed.url)
    if parsed is not None:
        if parsed.target_type not in resource_types():
            raise _invalid(param.code, value, f"{parsed.target_type} is not a resource type")
        if modifier is not None and modifier != parsed.target_type:
            raise _invalid(param.code, value, f"the type does not match :{modifier}")
        return RefMatch(param.code, parsed.target_type, parsed.target_id)
    if _ID.fullmatch(text) is None:
        raise _invalid(param.code, value, "expected an id, Type/id or an absolute URL")
    return RefMatch(param.code, modifier, text)


def _prefixed(param: SearchParam, value: str) -> tuple[Cmp, str]:
    match = _PREFIX.match(value)
    if match is None:
        return Cmp.EQ, value
    if match.group(1) not in param.comparators:
        raise _invalid(param.code, value, f"prefix {match.group(1)!r} is not allowed")
    return Cmp(match.group(1)), value[2:]


def _date(param: SearchParam, value: str, ctx: ValueContext) -> Term:
    cmp, text = _prefixed(param, value)
    bounds = date_range(text.replace(" ", "+"))
    if bounds is None:
        raise _invalid(param.code, value, "expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.f]][tz]]]]")
    low, high = bounds
    if cmp is Cmp.AP:
        low, high = approximate_range(low, high, ctx.now)
    return DateMatch(param.code, cmp, low, high)


def _decimal(param: SearchParam, text: str, value: str) -> Decimal:
    if _NUMBER.fullmatch(text) is None:
        raise _invalid(param.code, value, "expected [prefix]number")
    return Decimal(text)


def _number(param: SearchParam, value: str) -> Term:
    cmp, text = _prefixed(param, value)
    number = _decimal(param, text, value)
    low, high = precision_range(number)
    if cmp is Cmp.AP:
        low, high = approximate_value(number, low, high)
    return NumberMatch(param.code, cmp, number, low, high)


def _quantity(param: SearchParam, value: str) -> Term:
    parts = [unescape(p) for p in split_escaped(value, "|")]
    if len(parts) not in (1, 3):
        raise _invalid(param.code, value, "expected [prefix]number[|system|code]")
    cmp, text = _prefixed(param, parts[0])
    number = _decimal(param, text, value)
    low, high = precision_range(number)
    system = parts[1] or None if len(parts) == 3 else None
    code = parts[2] or None if len(parts) == 3 else None
    unit = canonical_unit(code) if system == UCUM_SYSTEM and code else None
    if unit is not None:
        number, low, high = unit.convert(number), unit.convert(low), unit.convert(high)
        code = unit.code
    if cmp is Cmp.AP:
        low, high = approximate_value(number, low, high)
    return QuantityMatch(param.code, cmp, number, low, high, system, code)


def _composite(param: SearchParam, value: str, ctx: ValueContext) -> Term:
    parts = split_escaped(value, "$")
    if len(parts) != len(param.components):
        raise _invalid(param.code, value, f"expected {len(param.components)} '$'-separated values")
    leaves = []
    for component, part in zip(param.components, parts, strict=True):
        definition = ctx.registry.by_url(component.definition)
        if definition is None:
            raise UnsupportedParameter(f"component {component.definition} is not registered")
        leaves.append(parse_value(definition, None, part, ctx))
    return Composite(param.code, tuple(leaves))
