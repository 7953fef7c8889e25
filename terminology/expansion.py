"""``ValueSet/$expand``. https://hl7.org/fhir/R4/valueset-operation-expand.html

The answer is the ValueSet (without narrative, and without ``compose`` unless
``includeDefinition=true``) with an ``expansion``: always flat (``contains`` never
nests, so ``excludeNested`` is always honoured; nothing is post-coordinated, so
``excludePostCoordinated`` is too), paged by ``offset``/``count`` with ``total``, and
``expansion.parameter`` recording the parameters that shaped it. ``filter`` keeps the
codes for which every word of the filter starts the code or a word of the display,
ignoring case.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fhir_server.errors import InvalidRequest
from terminology.compose import Composer, Entry
from terminology.concepts import display_in
from terminology.params import Inputs, Signature
from terminology.registry import Registry, split_canonical

JSON = dict[str, Any]

_RECORDED: dict[str, str] = {
    "filter": "String",
    "offset": "Integer",
    "count": "Integer",
    "activeOnly": "Boolean",
    "includeDesignations": "Boolean",
    "excludeNotForUI": "Boolean",
    "displayLanguage": "Code",
    "exclude-system": "Uri",
}
"""The parameters that change an expansion's content, and their FHIR types."""
SIGNATURE = Signature(
    "ValueSet/$expand",
    {
        "url": "text",
        "valueSet": "resource",
        "valueSetVersion": "text",
        "filter": "text",
        "offset": "integer",
        "count": "integer",
        "includeDesignations": "boolean",
        "includeDefinition": "boolean",
        "activeOnly": "boolean",
        "excludeNested": "boolean",
        "excludeNotForUI": "boolean",
        "excludePostCoordinated": "boolean",
        "displayLanguage": "text",
        "exclude-system": "text",
    },
    repeating=frozenset({"exclude-system"}),
    unsupported=frozenset(
        {
            "context",
            "contextDirection",
            "date",
            "designation",
            "system-version",
            "check-system-version",
            "force-system-version",
        }
    ),
)
_WORD = re.compile(r"\w+")


def value_set_of(registry: Registry, inputs: Inputs, instance: JSON | None) -> JSON:
    """The value set an operation is about: the instance, ``valueSet``, or ``url``."""
    where = inputs.signature.name
    if instance is not None:
        url = inputs.text("url")
        if url is not None and url != instance.get("url"):
            raise InvalidRequest(f"{where}: url {url} is not the url of this ValueSet")
        return instance
    given = inputs.resource("valueSet", "ValueSet")
    if given is not None:
        return given
    reference = inputs.text("url")
    if reference is None:
        raise InvalidRequest(f"{where} needs url, valueSet, or a ValueSet id in the path")
    url, version = split_canonical(reference)
    return registry.get("ValueSet", url, version or inputs.text("valueSetVersion"))


def expand(registry: Registry, inputs: Inputs, instance: JSON | None = None) -> JSON:
    """The expanded ValueSet."""
    value_set = value_set_of(registry, inputs, instance)
    entries = [e for e in Composer(registry).expand(value_set) if _kept(e, inputs)]
    offset, count = inputs.integer("offset") or 0, inputs.integer("count")
    page = entries[offset : None if count is None else offset + count]
    language = inputs.text("displayLanguage")
    designations = inputs.boolean("includeDesignations")
    expansion: JSON = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": len(entries),
    }
    if inputs.has("offset") or inputs.has("count"):
        expansion["offset"] = offset
    recorded = _recorded(inputs)
    if recorded:
        expansion["parameter"] = recorded
    if page:
        expansion["contains"] = [_contains(e, language, designations) for e in page]
    skipped = {"text", "expansion"} | (
        set() if inputs.boolean("includeDefinition") else {"compose"}
    )
    return {**{k: v for k, v in value_set.items() if k not in skipped}, "expansion": expansion}


def _kept(entry: Entry, inputs: Inputs) -> bool:
    if inputs.boolean("activeOnly") and entry.inactive:
        return False
    if inputs.boolean("excludeNotForUI") and entry.abstract:
        return False
    excluded = inputs.texts("exclude-system")
    if entry.system in excluded or f"{entry.system}|{entry.version}" in excluded:
        return False
    text = inputs.text("filter")
    if text is None:
        return True
    code = entry.code.casefold()
    words = _WORD.findall((entry.display or "").casefold())
    return all(
        code.startswith(term) or any(w.startswith(term) for w in words)
        for term in text.casefold().split()
    )


def _recorded(inputs: Inputs) -> list[JSON]:
    return [
        {"name": name, f"value{kind}": value}
        for name, kind in _RECORDED.items()
        for value in inputs.values(name)
    ]


def _contains(entry: Entry, language: str | None, designations: bool) -> JSON:
    item: JSON = {"system": entry.system}
    if entry.abstract:
        item["abstract"] = True
    if entry.inactive:
        item["inactive"] = True
    if entry.version:
        item["version"] = entry.version
    item["code"] = entry.code
    display = display_in(language, entry.display, entry.designations)
    if display:
        item["display"] = display
    if designations and entry.designations:
        item["designation"] = list(entry.designations)
    return item
