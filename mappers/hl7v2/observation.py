"""OBX -> Observation, shared by lab results and device data (v2-to-FHIR OBX map).

OBX-2/5 value, OBX-3 code, OBX-6 unit, OBX-7 reference range, OBX-8 interpretation
(table 0078), OBX-11 status (table 0085), OBX-14 effective time (else the OBR-7 the caller
passes), OBX-17 method, and NTE comments as notes. Identity, subject and device are the
caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fhir_server.ingest.spec import JSON, MappingError, compact
from mappers.hl7v2 import datatypes, tables
from mappers.hl7v2.header import MessageInfo
from mappers.hl7v2.options import Hl7v2Options
from mappers.hl7v2.segments import Composite, Segment
from mappers.hl7v2.timestamps import to_datetime
from mappers.hl7v2.units import quantity_unit
from mappers.hl7v2.values import carries_value, observation_value

_NUM = r"(-?\d+(?:\.\d+)?)"
_RANGE = re.compile(rf"^{_NUM}\s*-\s*{_NUM}$")
_BOUND = re.compile(rf"^(<=|>=|<|>)\s*{_NUM}$")


def reference_range(text: str, unit: JSON) -> JSON | None:
    """OBX-7 (``3.5-5.0``, ``<200``, ``>=40`` or free text) as a referenceRange."""
    text = text.strip()
    if not text:
        return None
    result: JSON = {"text": text}
    if match := _RANGE.match(text):
        result["low"] = {"value": float(match[1]) if "." in match[1] else int(match[1]), **unit}
        result["high"] = {"value": float(match[2]) if "." in match[2] else int(match[2]), **unit}
    elif match := _BOUND.match(text):
        bound = {"value": float(match[2]) if "." in match[2] else int(match[2]), **unit}
        result["high" if match[1].startswith("<") else "low"] = bound
    return result


def interpretation(code: str) -> JSON:
    """An OBX-8 abnormal flag as a CodeableConcept (v3 ObservationInterpretation)."""
    code = code.strip()
    upper = code.upper()
    if upper in tables.INTERPRETATION:
        return {"coding": [{"system": tables.V3_INTERPRETATION, "code": upper}]}
    if upper in tables.INTERPRETATION_V2_ONLY:
        return {"coding": [{"system": tables.V2 + "0078", "code": upper}]}
    return {"text": code}


def _notes(obx: Segment, extra: Sequence[Composite], comments: Sequence[Segment]) -> list[JSON]:
    if not extra and not comments:
        return []
    separator = obx.delimiters.component
    further = (separator.join(r.get(i) for i in (1, 2, 3)).rstrip(separator) for r in extra)
    notes = [{"text": f"Further value: {value}"} for value in further]
    for nte in comments:
        text = "\n".join(r.get(1) for r in nte.repetitions(3)).strip()
        if text:
            notes.append({"text": text})
    return notes


def is_blank(obx: Segment) -> bool:
    """True for an OBX naming no observation (OBX-3) and carrying no value: nothing to map."""
    return not obx.repetitions(3) and not carries_value(obx)  # no split repetition is empty


def _code(obx: Segment, options: Hl7v2Options) -> JSON:
    code = datatypes.codeable_concept(obx.first(3), options)
    if code is None:
        raise MappingError("OBX-3 is empty", code="required-missing", location=obx.location(3))
    return code


def observation(
    obx: Segment,
    info: MessageInfo,
    options: Hl7v2Options,
    *,
    fallback_effective: str | None = None,
    comments: Sequence[Segment] = (),
) -> JSON:
    """The Observation of one OBX, without identifier, subject or device.

    Args:
        obx: the OBX segment.
        info: message-wide facts (the zone of timestamps without an offset).
        options: site configuration.
        fallback_effective: the FHIR dateTime to use when OBX-14 is empty (from OBR-7).
        comments: the NTE segments that follow the OBX.

    Raises:
        MappingError: when OBX-3 is empty or a value does not fit its type.
    """
    unit = quantity_unit(obx.first(6))
    value, extra = observation_value(obx, unit, info.zone, options)
    when = obx.text(14)
    effective = to_datetime(when, obx.location(14), info.zone) if when else fallback_effective
    result: JSON = {
        "resourceType": "Observation",
        "status": tables.RESULT_STATUS.get(obx.text(11).upper(), "unknown"),
        "code": _code(obx, options),  # a CodeableConcept is built compact
    }
    if effective:
        result["effectiveDateTime"] = effective
    result.update(compact(value))
    interpretations = compact([interpretation(r.get(1)) for r in obx.repetitions(8)])
    if interpretations:
        result["interpretation"] = interpretations
    reference = reference_range(obx.text(7), unit)
    if reference is not None:
        result["referenceRange"] = [compact(reference)]  # never empty: it has a text
    method = datatypes.codeable_concept(obx.first(17), options)
    if method is not None:
        result["method"] = method
    notes = _notes(obx, extra, comments)
    if notes:
        result["note"] = notes
    return result
