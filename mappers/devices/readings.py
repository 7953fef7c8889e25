"""Template readings -> Observation entries (quantity, panel, sampled).

Every Observation is created once, keyed by a deterministic identifier made of the
device identifier, the first code and the instant of the reading, so a redelivered batch
(or two batches overlapping in time) never creates a second Observation. A reading
whose value is missing from an element (``null`` or absent) is skipped, not an error:
batches often carry only some of the measurements a template knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    PanelReading,
    QuantityReading,
    Reading,
    SampledReading,
    Template,
    Unit,
    compiled,
)
from mappers.devices.timestamps import canonical, parse_timestamp, to_fhir

UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


@dataclass(frozen=True, slots=True)
class Scope:
    """What every reading of one payload shares."""

    template: Template
    root: Any
    device: IdentifierKey
    device_reference: JSON
    subject: JSON


def search(expression: str, data: Any) -> Any:
    """Evaluate a (validated) JMESPath expression."""
    return compiled(expression).search(data)


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


def _quantity(value: Any, unit: Unit, where: str) -> JSON:
    return {
        "value": _number(value, where),
        "unit": unit.display or unit.code,
        "system": UCUM,
        "code": unit.code,
    }


def _concept(codes: list[Coding]) -> JSON:
    return {"coding": [c.model_dump(exclude_none=True) for c in codes], "text": codes[0].display}


def _value(rule: Reading, item: Any, where: str) -> JSON | None:
    """The value part of the Observation, or None when the element lacks the reading."""
    if isinstance(rule, QuantityReading):
        value = search(rule.value, item)
        return (
            None
            if value is None
            else {"valueQuantity": _quantity(value, rule.unit, f"{where}.value")}
        )
    if isinstance(rule, PanelReading):
        components = []
        for i, part in enumerate(rule.components):
            value = search(part.value, item)
            if value is not None:
                quantity = _quantity(value, part.unit, f"{where}.components[{i}].value")
                components.append({"code": _concept(part.code), "valueQuantity": quantity})
        return {"component": components} if components else None
    return _sampled(rule, item, where)


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


def _moment(rule: Reading, item: Any, scope: Scope, where: str) -> datetime:
    template = scope.template
    if rule.timestamp is not None:
        raw, at = search(rule.timestamp, item), f"{where}.timestamp"
    else:
        assert template.timestamp is not None  # guaranteed when the template loads
        raw, at = search(template.timestamp, scope.root), f"{template.name}.timestamp"
    return parse_timestamp(raw, template.timestamp_format, template.timezone, at)


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
        return None
    moment = _moment(rule, item, scope, where)
    category = rule.category
    resource = compact(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}]
            if category
            else None,
            "code": _concept(rule.code),
            "subject": scope.subject,
            "effectiveDateTime": to_fhir(moment),
            **value,
            "device": scope.device_reference,
        }
    )
    first = rule.code[0]
    key = reading_key(
        scope.device.system, scope.device.value, first.system, first.code, canonical(moment)
    )
    return create_once(resource, key)


def observations(scope: Scope) -> Iterator[JSON]:
    """The Observation entries of every reading the template finds in the payload."""
    for index, rule in enumerate(scope.template.readings):
        where = f"{scope.template.name}.readings[{index}]"
        for item in _items(rule, scope.root):
            entry = _observation(rule, item, scope, where)
            if entry is not None:
                yield entry
