"""Template readings -> Observation entries (quantity, panel, sampled).

Every Observation is created once, keyed by a deterministic identifier made of the
device identifier, the first code and the instant (or period) of the reading, plus the
template's ``reading_id`` when it has one, so a redelivered batch (or two batches
overlapping in time) never creates a second Observation. A reading whose value is missing
from an element (``null`` or absent) is skipped, not an error (batches often carry only
some of the measurements a template knows), unless the reading is ``required``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jmespath.exceptions import JMESPathError

from fhir_server.ingest.spec import (
    JSON,
    IdentifierKey,
    MappingError,
    compact,
    create_once,
    reading_key,
)
from mappers.devices.template import (
    Coding,
    Component,
    Effective,
    Lookup,
    PanelReading,
    QuantityReading,
    Reading,
    SampledReading,
    Template,
    Unit,
    compiled,
)
from mappers.devices.timestamps import When, parse_duration, parse_timestamp, period

UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
MAX_EXPONENT = 20
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scope:
    """What every reading of one payload (or record) shares.

    ``zone`` reads offset-less timestamps; with ``localize`` every instant is written in it.
    """

    template: Template
    root: Any
    device: IdentifierKey
    device_reference: JSON
    subject: JSON
    zone: str
    localize: bool
    reading_id: str | None = None


def search(expression: str, data: Any) -> Any:
    """Evaluate a (validated) JMESPath expression.

    Raises:
        MappingError: when the expression cannot be applied to this data (a function
            given the wrong type, e.g. ``keys(@)`` on a list).
    """
    try:
        return compiled(expression).search(data)
    except JMESPathError as exc:
        raise MappingError(
            f"cannot evaluate {expression!r} on this payload: {exc}", code="invalid-value"
        ) from exc


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool):
        raise MappingError(f"{value!r} is not a number", code="invalid-value", location=where)
    if isinstance(value, int | float):
        return value
    try:
        text = str(value).strip()
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError as exc:
        raise MappingError(
            f"{value!r} is not a number", code="invalid-value", location=where
        ) from exc


def _scaled(value: Any, exponent: str | None, item: Any, where: str) -> int | float:
    """The value as a number, times ``10 ** exponent`` when the rule has one."""
    number = _number(value, f"{where}.value")
    if exponent is None:
        return number
    power = search(exponent, item)
    at = f"{where}.exponent"
    if power is None:
        raise MappingError(f"no exponent at {exponent!r}", code="required-missing", location=at)
    if isinstance(power, bool) or not isinstance(power, int) or abs(power) > MAX_EXPONENT:
        raise MappingError(
            f"exponent {power!r} is not an integer from -{MAX_EXPONENT} to {MAX_EXPONENT}",
            code="invalid-value",
            location=at,
        )
    scaled = Decimal(repr(number)).scaleb(power)
    if not scaled.is_finite():
        raise MappingError(
            f"{value!r} is not a number", code="invalid-value", location=f"{where}.value"
        )
    return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)


def _quantity(number: int | float, unit: Unit) -> JSON:
    return {"value": number, "unit": unit.display or unit.code, "system": UCUM, "code": unit.code}


def _concept(codes: list[Coding]) -> JSON:
    return {"coding": [c.model_dump(exclude_none=True) for c in codes], "text": codes[0].display}


def _lookup(table: Lookup[T], item: Any, what: str, where: str) -> T:
    """The entry of ``table`` the payload selects; a MappingError when there is none."""
    key = search(table.key, item)
    if key is None:
        raise MappingError(
            f"no {what} at {table.key!r}", code="required-missing", location=f"{where}.key"
        )
    if isinstance(key, str | int | float) and not isinstance(key, bool) and str(key) in table.map:
        return table.map[str(key)]
    known = ", ".join(repr(k) for k in table.map)
    raise MappingError(f"{what} {key!r} is not one of {known}", code="unknown-code", location=where)


def _codes(rule: Reading, item: Any, where: str) -> list[Coding]:
    if rule.code is not None:
        return rule.code
    assert rule.code_by is not None  # exactly one of them, checked at load
    return _lookup(rule.code_by, item, "code key", f"{where}.code_by")


def _unit(owner: QuantityReading | Component, item: Any, where: str) -> Unit:
    if owner.unit is not None:
        return owner.unit
    assert owner.unit_by is not None  # exactly one of them, checked at load
    return _lookup(owner.unit_by, item, "unit", f"{where}.unit_by")


def _missing(expression: str, where: str) -> MappingError:
    return MappingError(
        f"required value missing at {expression!r}", code="required-missing", location=where
    )


def _components(rule: PanelReading, item: Any, where: str) -> JSON | None:
    components = []
    for i, part in enumerate(rule.components):
        at = f"{where}.components[{i}]"
        value = search(part.value, item)
        if value is None:
            if part.required:
                raise _missing(part.value, f"{at}.value")
            continue
        number = _scaled(value, part.exponent, item, at)
        quantity = _quantity(number, _unit(part, item, at))
        components.append({"code": _concept(part.code), "valueQuantity": quantity})
    return {"component": components} if components else None


def _value(rule: Reading, item: Any, where: str) -> JSON | None:
    """The value part of the Observation, or None when the element lacks the reading."""
    if isinstance(rule, QuantityReading):
        value = search(rule.value, item)
        if value is None:
            return None
        number = _scaled(value, rule.exponent, item, where)
        return {"valueQuantity": _quantity(number, _unit(rule, item, where))}
    if isinstance(rule, PanelReading):
        return _components(rule, item, where)
    return _sampled(rule, item, where)


def _absent(rule: Reading, where: str) -> MappingError:
    """The error for a ``required`` reading the element lacks."""
    if isinstance(rule, QuantityReading):
        return _missing(rule.value, f"{where}.value")
    if isinstance(rule, PanelReading):
        return MappingError(
            "no component has a value", code="required-missing", location=f"{where}.components"
        )
    return _missing(rule.data, f"{where}.data")


def _sample(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "E"
    return str(value)


def _sampled(rule: SampledReading, item: Any, where: str) -> JSON | None:
    data = search(rule.data, item)
    if not data:
        return None
    if not isinstance(data, list):
        raise MappingError("samples are not a list", code="invalid-value", location=f"{where}.data")
    period = rule.period_ms
    if rule.sample_rate_hz is not None:
        rate = _number(search(rule.sample_rate_hz, item), f"{where}.sample_rate_hz")
        if rate <= 0:
            raise MappingError(
                "sample rate must be positive",
                code="invalid-value",
                location=f"{where}.sample_rate_hz",
            )
        period = 1000 / rate
    sampled = {
        "origin": {
            "value": rule.origin,
            "unit": rule.unit.display or rule.unit.code,
            "system": UCUM,
            "code": rule.unit.code,
        },
        "period": period,
        "factor": rule.factor,
        "dimensions": rule.dimensions,
        "data": " ".join(_sample(v) for v in data),
    }
    return {"valueSampledData": sampled}


def _moment(raw: Any, scope: Scope, where: str) -> datetime:
    moment = parse_timestamp(raw, scope.template.timestamp_format, scope.zone, where)
    return moment.astimezone(ZoneInfo(scope.zone)) if scope.localize else moment


def _effective(spec: Effective, data: Any, scope: Scope, where: str) -> When:
    def moment(expression: str | None, part: str) -> datetime | None:
        raw = search(expression, data) if expression else None
        return None if raw is None else _moment(raw, scope, f"{where}.{part}")

    instant = moment(spec.date_time, "date_time")
    if instant is not None:
        return When(instant)
    raw = search(spec.duration, data) if spec.duration else None
    duration = None if raw is None else parse_duration(raw, f"{where}.duration")
    return period(moment(spec.start, "start"), moment(spec.end, "end"), duration, where)


def _when(rule: Reading, item: Any, scope: Scope, where: str) -> When:
    """When the reading was taken: its own timestamp or effective, else the template's."""
    template = scope.template
    if rule.timestamp is not None:
        return When(_moment(search(rule.timestamp, item), scope, f"{where}.timestamp"))
    if rule.effective is not None:
        return _effective(rule.effective, item, scope, f"{where}.effective")
    if template.timestamp is not None:
        raw, at = search(template.timestamp, scope.root), f"{template.name}.timestamp"
        return When(_moment(raw, scope, at))
    assert template.effective is not None  # guaranteed when the template loads
    return _effective(template.effective, scope.root, scope, f"{template.name}.effective")


def _items(rule: Reading, root: Any) -> list[Any]:
    if rule.foreach is None:
        return [root]
    found = search(rule.foreach, root)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _observation(rule: Reading, item: Any, scope: Scope, where: str) -> JSON | None:
    value = _value(rule, item, where)
    if value is None:
        if rule.required:
            raise _absent(rule, where)
        return None
    codes = _codes(rule, item, where)
    when = _when(rule, item, scope, where)
    category = rule.category
    resource = compact(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}]
            if category
            else None,
            "code": _concept(codes),
            "subject": scope.subject,
            **when.to_fhir(),
            **value,
            "device": scope.device_reference,
        }
    )
    first = codes[0]
    parts = [scope.device.system, scope.device.value, first.system, first.code, when.key()]
    if scope.reading_id is not None:
        parts.append(scope.reading_id)
    return create_once(resource, reading_key(*parts))


def observations(scope: Scope) -> Iterator[JSON]:
    """The Observation entries of every reading the template finds in the payload."""
    for index, rule in enumerate(scope.template.readings):
        where = f"{scope.template.name}.readings[{index}]"
        for item in _items(rule, scope.root):
            entry = _observation(rule, item, scope, where)
            if entry is not None:
                yield entry
