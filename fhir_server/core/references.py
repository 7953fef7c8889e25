"""Reference rewriting inside a transaction Bundle. https://hl7.org/fhir/R4/http.html#trules"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def rewrite_references(node: Any, resolve: Callable[[str], str | None]) -> Any:
    """``node`` with its ``reference`` values replaced where ``resolve`` says so.

    Only the objects and arrays on the way to a replaced value are copied; the rest of
    ``node`` is shared with the result, and ``node`` itself is returned when nothing
    changes.
    """
    if type(node) is dict:
        copy: dict[str, Any] | None = None
        for key, value in node.items():
            if key == "reference" and type(value) is str:
                new = resolve(value) or value
            elif type(value) is dict or type(value) is list:
                new = rewrite_references(value, resolve)
            else:
                continue
            if new is not value:
                if copy is None:
                    copy = dict(node)
                copy[key] = new
        return node if copy is None else copy
    if type(node) is list:
        items: list[Any] | None = None
        for position, item in enumerate(node):
            new = rewrite_references(item, resolve) if type(item) in (dict, list) else item
            if new is not item:
                if items is None:
                    items = list(node)
                items[position] = new
        return node if items is None else items
    return node
