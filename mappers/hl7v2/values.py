"""OBX-5 values by OBX-2 value type (v2-to-FHIR OBX[Observation] map, value[x] rows).

NM -> valueQuantity; ST/TX/FT -> valueString (repetitions joined by line breaks);
CWE/CE/CNE/CF -> valueCodeableConcept; SN -> valueQuantity with comparator, valueRange
(``^10^-^20``) or valueRatio (``^1^:^128``); TS/DTM/DT -> valueDateTime; TM -> valueTime.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from fhir_server.ingest.spec import JSON, MappingError, SegmentLocation
from mappers.hl7v2 import datatypes
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Composite, Segment
from mappers.hl7v2.timestamps import to_datetime

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_TIME = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?$")
_COMPARATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "=": None, "": None}
TEXT_TYPES = frozenset({"ST", "TX", "FT"})
CODED_TYPES = frozenset({"CWE", "CE", "CNE", "CF"})
TIMESTAMP_TYPES = frozenset({"TS", "DTM", "DT"})


def number(text: str, where: SegmentLocation) -> int | float:
    """An NM value as a JSON number."""
    value = text.strip()
    if not _NUMBER.match(value):
        raise MappingError(f"{text!r} is not a number", code="invalid-value", location=where)
    value = value.lstrip("+")
    return float(value) if "." in value else int(value)


def _structured(sn: Composite, unit: JSON, where: SegmentLocation) -> JSON:
    comparator, first, separator, second = (sn.get(i).strip() for i in (1, 2, 3, 4))
    if not separator and not second:
        if comparator not in _COMPARATORS:
            return {"valueString": "".join(sn.get(i) for i in (1, 2, 3, 4))}
        quantity: JSON = {"value": number(first, where), **unit}
        if _COMPARATORS[comparator]:
            quantity["comparator"] = _COMPARATORS[comparator]
        return {"valueQuantity": quantity}
    if separator == "-" and not comparator:
        low, high = number(first, where), number(second, where)
        return {"valueRange": {"low": {"value": low, **unit}, "high": {"value": high, **unit}}}
    if separator in (":", "/") and not comparator:
        ratio = {"numerator": {"value": number(first, where)}}
        ratio["denominator"] = {"value": number(second, where)}
        return {"valueRatio": ratio}
    return {"valueString": "".join(sn.get(i) for i in (1, 2, 3, 4))}


def _time(text: str, where: SegmentLocation) -> JSON:
    match = _TIME.match(text.strip()[:11])
    if match is None or int(match[1]) > 23 or int(match[2] or 0) > 59 or int(match[3] or 0) > 59:
        raise MappingError(f"{text!r} is not an HL7 time", code="invalid-value", location=where)
    return {"valueTime": f"{match[1]}:{match[2] or '00'}:{match[3] or '00'}{match[4] or ''}"}


def _text(rep: Composite, obx: Segment) -> str:
    """A text repetition whole: a sender's unescaped ``^`` or ``&`` is text, not structure."""
    d = obx.delimiters
    return d.component.join(d.subcomponent.join(c) for c in rep.components)


def observation_value(
    obx: Segment, unit: JSON, zone: tzinfo, options: Hl7v2Options
) -> tuple[JSON, tuple[Composite, ...]]:
    """The ``value[x]`` of an OBX, and the repetitions it could not hold.

    Args:
        obx: the OBX segment.
        unit: the Quantity unit fields from OBX-6.
        zone: the zone of timestamps without an offset.
        options: site configuration (coding systems).

    Raises:
        MappingError: for a value that does not fit OBX-2, or an unknown OBX-2 type.
    """
    value_type = obx.text(2).upper()
    reps = obx.repetitions(5)
    where = obx.location(5)
    if not reps:
        return {}, ()
    if value_type in TEXT_TYPES:
        return {"valueString": "\n".join(_text(r, obx) for r in reps)}, ()
    first = reps[0]
    value: JSON
    if value_type == "NM":
        value = {"valueQuantity": {"value": number(first.get(1), where), **unit}}
    elif value_type == "SN":
        value = _structured(first, unit, where)
    elif value_type in TIMESTAMP_TYPES:
        value = {"valueDateTime": to_datetime(first.get(1), where, zone)}
    elif value_type == "TM":
        value = _time(first.get(1), where)
    elif value_type in CODED_TYPES:
        value = {"valueCodeableConcept": datatypes.codeable_concept(first, options)}
    else:
        raise MappingError(
            f"OBX-2 value type {value_type or '(empty)'!r} is not supported",
            code="unknown-code",
            location=obx.location(2),
        )
    return value, reps[1:]
