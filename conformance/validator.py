"""Structural validation against the official R4 JSON schema of one resource type.

https://hl7.org/fhir/R4/json.html. Each type's validator is compiled once, on first use,
with jsonschema-rs (about 3 µs for a vital-sign Observation against about 750 µs with the
pure-Python ``jsonschema``; see docs/adr/0003-validator.md). Validating against the
schema's root ``oneOf`` is avoided: the type is known from ``resourceType``.

The schema's patterns give the shape of ``date``, ``dateTime`` and ``instant`` but not that
"dates SHALL be valid dates": a ``calendar-date`` format added wherever those patterns are
rejects days a month does not have (``2021-02-30``, ``2023-02-29``).
"""

from __future__ import annotations

import calendar
import re
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema_rs

from conformance.definitions import json_schema, resource_types
from fhir_server.errors import Issue

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_YEAR_MONTH_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_CALENDAR_DATE = "calendar-date"
_lock = threading.Lock()
_validators: dict[str, jsonschema_rs.Validator] = {}


@cache
def _definitions() -> dict[str, Any]:
    """The schema's definitions, shared by every type's validator (built once)."""
    definitions = dict(json_schema()["definitions"])
    # The published schema refers to two definitions it never declares.
    definitions.setdefault("Resource", {"$ref": "#/definitions/ResourceList"})
    definitions.setdefault("integer64", {"type": "string", "pattern": "^-?([0]|([1-9][0-9]*))$"})
    date_patterns = {definitions[name]["pattern"] for name in ("date", "dateTime", "instant")}
    return {name: _with_calendar_dates(d, date_patterns) for name, d in definitions.items()}


def _with_calendar_dates(schema: Any, date_patterns: set[str]) -> Any:
    """``schema`` with the calendar-date format wherever a date pattern is.

    Choice types such as ``effectiveDateTime`` repeat the pattern instead of referring to
    the ``dateTime`` definition, so every schema node is looked at.
    """
    if isinstance(schema, list):
        return [_with_calendar_dates(item, date_patterns) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _with_calendar_dates(value, date_patterns) for key, value in schema.items()}
    if schema.get("pattern") in date_patterns:
        out["format"] = _CALENDAR_DATE
    return out


def is_calendar_date(value: str) -> bool:
    """False when ``value`` starts with a year, month and day that do not exist."""
    match = _YEAR_MONTH_DAY.match(value)
    if match is None:
        return True  # a year or year-month; the schema's pattern checks the shape
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _validator(resource_type: str) -> jsonschema_rs.Validator:
    validator = _validators.get(resource_type)
    if validator is None:
        with _lock:
            validator = _validators.get(resource_type)
            if validator is None:
                schema = {
                    "$schema": "http://json-schema.org/draft-06/schema#",
                    "$ref": f"#/definitions/{resource_type}",
                    "definitions": _definitions(),
                }
                validator = jsonschema_rs.validator_for(
                    schema, formats={_CALENDAR_DATE: is_calendar_date}, validate_formats=True
                )
                _validators[resource_type] = validator
    return validator


def fhirpath_location(resource_type: str, path: list[str | int]) -> str:
    """Turn a JSON instance path into a FHIRPath-style location (``Observation.code.coding[0]``)."""
    out = resource_type
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a valid FHIR logical id."""
    return isinstance(value, str) and _ID.match(value) is not None


def validate_resource(resource: Any) -> list[Issue]:
    """Every structural problem of ``resource``; an empty list when it is valid."""
    if not isinstance(resource, dict):
        return [Issue("error", "structure", "A resource must be a JSON object")]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or resource_type not in resource_types():
        return [
            Issue(
                "error",
                "structure",
                f"Unknown or missing resourceType {resource_type!r}",
                ("resourceType",),
            )
        ]
    validator = _validator(resource_type)
    if validator.is_valid(resource):
        return []
    return list(_issues(resource_type, validator.iter_errors(resource)))


def _issues(resource_type: str, errors: Iterator[jsonschema_rs.ValidationError]) -> Iterator[Issue]:
    for error in errors:
        location = fhirpath_location(resource_type, list(error.instance_path))
        message = error.message.replace(f'is not a "{_CALENDAR_DATE}"', "is not a calendar date")
        yield Issue("error", "structure", f"{location}: {message}", (location,))
