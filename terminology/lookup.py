"""``CodeSystem/$lookup``. https://hl7.org/fhir/R4/codesystem-operation-lookup.html

Answers ``name``, ``version``, ``display``, the concept's ``designation``s and its
properties: ``definition``, ``parent`` and ``child`` (from the hierarchy) and every property
the code system gives the concept. ``property`` narrows the answer to the named ones. An
unknown code system or code is a 404; a UCUM unit is looked up by validating it (its
display is the unit code itself).
"""

from __future__ import annotations

from typing import Any

from fhir_server.errors import NotFound
from terminology import ucum
from terminology.codings import coded
from terminology.concepts import Concept, display_in
from terminology.params import Inputs, Signature, parameters, part
from terminology.registry import Registry

JSON = dict[str, Any]

SIGNATURE = Signature(
    "CodeSystem/$lookup",
    {
        "code": "text",
        "system": "text",
        "version": "text",
        "coding": "Coding",
        "displayLanguage": "text",
        "property": "text",
    },
    repeating=frozenset({"property"}),
    unsupported=frozenset({"date"}),
)


def lookup(registry: Registry, inputs: Inputs) -> JSON:
    """The details of one concept."""
    [coding] = coded(inputs)
    system = coding.system or ""
    held = registry.code_system(system, coding.version)
    if held is None:
        shown = f"{system}|{coding.version}" if coding.version else system
        raise NotFound(f"The code system {shown} is not known", code="terminology-unknown")
    if held.url == ucum.UCUM:
        try:
            ucum.check(coding.code)
        except ucum.UcumError as exc:
            raise NotFound(str(exc), code="terminology-unknown-code") from exc
        return parameters(_named(held.name, held.version, coding.code))
    concept = held.get(coding.code)
    if concept is None:
        part_note = "" if held.complete else " (this server holds it only in part)"
        raise NotFound(
            f"{coding.code!r} is not a code of {held.name}{part_note}",
            code="terminology-unknown-code",
        )
    wanted = set(inputs.texts("property"))
    display = display_in(inputs.text("displayLanguage"), concept.display, concept.designations)
    out = _named(held.name, held.version, display or concept.code)
    if not wanted or "designation" in wanted:
        out.extend(_designation(d) for d in concept.designations)
    out.extend(p for p in _properties(concept) if not wanted or p["part"][0]["valueCode"] in wanted)
    return parameters(out)


def _named(name: str, version: str | None, display: str) -> list[JSON]:
    out = [part("name", "String", name)]
    if version:
        out.append(part("version", "String", version))
    out.append(part("display", "String", display))
    return out


def _designation(designation: JSON) -> JSON:
    parts = []
    if "language" in designation:
        parts.append(part("language", "Code", designation["language"]))
    if "use" in designation:
        parts.append(part("use", "Coding", designation["use"]))
    parts.append(part("value", "String", designation.get("value", "")))
    return {"name": "designation", "part": parts}


def _property(code: str, value: dict[str, Any]) -> JSON:
    return {"name": "property", "part": [part("code", "Code", code), {"name": "value", **value}]}


def _properties(concept: Concept) -> list[JSON]:
    out = []
    if concept.definition:
        out.append(_property("definition", {"valueString": concept.definition}))
    out.extend(_property("parent", {"valueCode": code}) for code in concept.parents)
    out.extend(_property("child", {"valueCode": code}) for code in concept.children)
    for prop in concept.properties:
        value = {k: v for k, v in prop.items() if k.startswith("value")}
        if "code" in prop and value:
            out.append(_property(prop["code"], value))
    return out
