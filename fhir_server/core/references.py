"""Reference rewriting inside a transaction Bundle. https://hl7.org/fhir/R4/http.html#trules"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def rewrite_references(node: Any, resolve: Callable[[str], str | None]) -> Any:
    """A copy of ``node`` whose ``reference`` values are replaced where ``resolve`` says so."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                out[key] = resolve(value) or value
            else:
                out[key] = rewrite_references(value, resolve)
        return out
    if isinstance(node, list):
        return [rewrite_references(item, resolve) for item in node]
    return node
