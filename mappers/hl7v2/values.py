"""OBX-5 values by OBX-2 value type (v2-to-FHIR OBX[Observation] map, value[x] rows).

NM -> valueQuantity; ST/TX/FT -> valueString (repetitions joined by line breaks);
CWE/CE/CNE/CF -> valueCodeableConcept; SN -> valueQuantity with comparator, valueRange
(``^10^-^20``) or valueRatio (``^1^:^128``); TS/DTM/DT -> valueDateTime; TM -> valueTime;
ED/RP -> the Attachment extension of ``attachments``. NA (a numeric array, e.g. an IHE
PCD-01 waveform) -> valueString of its numbers separated by spaces, one line per
repetition: the IG's SampledData needs a sampling period, which an NA value does not carry.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from fhir_server.ingest.spec import JSON, MappingError, SegmentLocation
from mappers.hl7v2 import attachments, datatypes
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Composite, Segment
from mappers.hl7v2.timestamps import to_datetime

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_TIME = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?$")
_COMPARATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "=": None, "": None}
TEXT_TYPES = frozenset({"ST", "TX", "FT"})
CODED_TYPES = frozenset({"CWE", "CE", "CNE", "CF"})
TIMESTAMP_TYPES = frozenset({"TS", "DTM", "DT"})
COMPOSITE_TEXT_TYPES = frozenset({"AD", "CN", "CX", "PN", "TN", "XAD", "XCN", "XON", "XPN", "XTN"})
"""HL7 table 0125 types with no Observation.value[x] of their own: kept as text."""
TABLE_CODE_TYPES = frozenset({"ID", "IS"})
"""HL7 table 0125 types holding a bare code from an HL7 or user-defined table."""


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


def _composite_text(reps: tuple[Composite, ...]) -> JSON:
    """Names, addresses, phones or identifiers as readable text: their non-empty parts."""
    lines = []
    for rep in reps:
        parts = (sub.strip() for component in rep.components for sub in component)
        lines.append(" ".join(part for part in parts if part))
    return {"valueString": "\n".join(filter(None, lines))}


def _numeric_array(reps: tuple[Composite, ...], where: SegmentLocation) -> JSON:
    lines = []
    for rep in reps:
        samples = [rep.get(i).strip() for i in range(1, len(rep.components) + 1)]
        for sample in filter(None, samples):
            number(sample, where)
        lines.append(" ".join(samples))
    return {"valueString": "\n".join(lines)}


def carries_value(obx: Segment) -> bool:
    """True when OBX-5 holds a value (for ED, data; for RP, a pointer)."""
    reps = obx.repetitions(5)
    value_type = obx.text(2).upper()
    if value_type == "ED":
        return any(r.get(5).strip() for r in reps)
    if value_type == "RP":
        return any(r.get(1).strip() for r in reps)
    return bool(reps)


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
    if value_type == "NA":
        return _numeric_array(reps, where), ()
    if value_type in COMPOSITE_TEXT_TYPES:
        return _composite_text(reps), ()
    return _single_value(obx, value_type, reps[0], unit, zone, options), reps[1:]


def _single_value(
    obx: Segment, value_type: str, first: Composite, unit: JSON, zone: tzinfo, options: Hl7v2Options
) -> JSON:
    """The ``value[x]`` of the types that hold one value: the first repetition."""
    where = obx.location(5)
    if value_type == "NM":
        return {"valueQuantity": {"value": number(first.get(1), where), **unit}}
    if value_type == "SN":
        return _structured(first, unit, where)
    if value_type in TIMESTAMP_TYPES:
        return {"valueDateTime": to_datetime(first.get(1), where, zone)}
    if value_type == "TM":
        return _time(first.get(1), where)
    if value_type in CODED_TYPES:
        return {"valueCodeableConcept": datatypes.codeable_concept(first, options)}
    if value_type in TABLE_CODE_TYPES:
        code = first.get(1).strip()
        return {"valueCodeableConcept": {"coding": [{"code": code}]}} if code else {}
    if value_type == "ED":
        return attachments.encapsulated(first, where)
    if value_type == "RP":
        return attachments.pointer(first)
    raise MappingError(
        f"OBX-2 value type {value_type or '(empty)'!r} is not supported",
        code="unknown-code",
        location=obx.location(2),
    )
