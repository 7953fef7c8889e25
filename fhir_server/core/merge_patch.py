"""JSON Merge Patch (RFC 7386), the partial-resource PATCH some FHIR clients send.

R4 names JSON Patch and FHIRPath Patch (https://hl7.org/fhir/R4/http.html#patch) and lets
servers accept other formats; clients such as fhirpy send a partial resource (``{"active":
false}``) with ``application/json``, which is a merge patch: objects merge key by key,
``null`` removes a key, anything else (arrays included) replaces the value whole.
"""

from __future__ import annotations

from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` merged into it (RFC 7386 section 2); inputs are not changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = apply_merge_patch(merged.get(key), value)
    return merged
