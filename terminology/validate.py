"""``$validate-code`` on a ValueSet or a CodeSystem.

https://hl7.org/fhir/R4/valueset-operation-validate-code.html and
https://hl7.org/fhir/R4/codesystem-operation-validate-code.html. The answer is
``result``, a ``message`` when something is wrong (or, with ``result = true``, a hint),
and the recommended ``display``. A code is invalid when it is not in the value set or
code system, when it is abstract and ``abstract=false`` was given, when a given display
is neither the display nor a designation of the concept (ignoring case), or when its
stated version is not the one held. A codeableConcept is valid when one of its codings
is. When the answer cannot be known (a code system held only as a fragment), the
operation fails with 422 instead of answering ``false`` (unless another coding of the
codeableConcept is valid; the message then says which one could not be judged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_server.errors import InvalidRequest
from terminology import ucum
from terminology.codings import Coded, coded
from terminology.compose import Composer, Entry, entry_of
from terminology.concepts import Concepts, display_in
from terminology.errors import CannotEvaluate
from terminology.expansion import value_set_of
from terminology.params import Inputs, Kind, Signature, parameters, part
from terminology.registry import Registry, split_canonical

JSON = dict[str, Any]

_COMMON: dict[str, Kind] = {
    "code": "text",
    "display": "text",
    "coding": "Coding",
    "codeableConcept": "CodeableConcept",
    "abstract": "boolean",
    "displayLanguage": "text",
}
VALUE_SET_SIGNATURE = Signature(
    "ValueSet/$validate-code",
    {
        "url": "text",
        "valueSet": "resource",
        "valueSetVersion": "text",
        "system": "text",
        "systemVersion": "text",
        **_COMMON,
    },
    unsupported=frozenset({"context", "date"}),
)
CODE_SYSTEM_SIGNATURE = Signature(
    "CodeSystem/$validate-code",
    {"url": "text", "codeSystem": "resource", "version": "text", **_COMMON},
    unsupported=frozenset({"date"}),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement on one coding."""

    valid: bool
    message: str | None = None
    display: str | None = None


def validate_value_set(registry: Registry, inputs: Inputs, instance: JSON | None = None) -> JSON:
    """``ValueSet/$validate-code``."""
    value_set = value_set_of(registry, inputs, instance)
    composer = Composer(registry)
    name = value_set.get("url") or value_set.get("id") or "the value set"

    def judge(coding: Coded) -> Verdict:
        entry = composer.member(value_set, coding.system or "", coding.code)
        if entry is None:
            return Verdict(False, f"The code {coding.label()} is not in the value set {name}")
        known = registry.code_system(entry.system, entry.version)
        concept = known.get(entry.code) if known else None
        extra = [concept.display] if concept and concept.display else []
        return _judge(coding, entry, inputs, extra)

    return _answer(coded(inputs, version="systemVersion"), judge)


def validate_code_system(registry: Registry, inputs: Inputs, instance: JSON | None = None) -> JSON:
    """``CodeSystem/$validate-code``."""
    codings = coded(inputs, system=None)
    held = _code_system_of(registry, inputs, instance, codings)
    return _answer(codings, lambda coding: _in_code_system(held, coding, inputs))


def _code_system_of(
    registry: Registry, inputs: Inputs, instance: JSON | None, codings: list[Coded]
) -> Concepts:
    given = inputs.resource("codeSystem", "CodeSystem")
    resource = instance if instance is not None else given
    if resource is not None:
        return Concepts(resource)
    systems = {c.system for c in codings if c.system}
    reference = inputs.text("url") or (systems.pop() if len(systems) == 1 else None)
    if reference is None:
        where = inputs.signature.name
        raise InvalidRequest(f"{where} needs url, codeSystem, or a CodeSystem id in the path")
    url, version = split_canonical(reference)
    return registry.concepts(registry.get("CodeSystem", url, version or inputs.text("version")))


def _in_code_system(held: Concepts, coding: Coded, inputs: Inputs) -> Verdict:
    if coding.system and coding.system != held.url:
        return Verdict(False, f"The code {coding.label()} is not from the code system {held.url}")
    if held.url == ucum.UCUM:
        try:
            ucum.check(coding.code)
        except ucum.UcumError as exc:
            return Verdict(False, str(exc))
        return Verdict(True, None, coding.code)
    concept = held.get(coding.code)
    if concept is None:
        if not held.complete:
            raise CannotEvaluate(
                f"{held.name} is held only in part (content: {held.content}): "
                f"whether {coding.code!r} is one of its codes is unknown here"
            )
        return Verdict(False, f"Unknown code {coding.code!r} in the code system {held.url}")
    return _judge(coding, entry_of(held, concept), inputs, [])


def _judge(coding: Coded, entry: Entry, inputs: Inputs, extra_displays: list[str]) -> Verdict:
    display = display_in(inputs.text("displayLanguage"), entry.display, entry.designations)
    if coding.version and entry.version and coding.version != entry.version:
        raise CannotEvaluate(
            f"version {coding.version} of {entry.system} is not held (held: {entry.version})"
        )
    if entry.abstract and not inputs.boolean("abstract", default=True):
        return Verdict(False, f"The code {coding.label()} is abstract", display)
    if coding.display:
        valid = [entry.display, *extra_displays, *(d.get("value") for d in entry.designations)]
        if coding.display.casefold() not in {v.casefold() for v in valid if isinstance(v, str)}:
            shown = f" (the display is {display!r})" if display else ""
            message = f"{coding.display!r} is not a display of {coding.label()}{shown}"
            return Verdict(False, message, display)
    return Verdict(True, None, display)


def _answer(codings: list[Coded], judge: Callable[[Coded], Verdict]) -> JSON:
    """The output of the judgement on each coding: valid when one is.

    A coding that cannot be judged only fails the call when no other coding is valid.
    """
    verdicts: list[Verdict] = []
    doubt: CannotEvaluate | None = None
    for coding in codings:
        try:
            verdicts.append(judge(coding))
        except CannotEvaluate as exc:
            doubt = doubt or exc
    valid = next((v for v in verdicts if v.valid), None)
    if valid is None and doubt is not None:
        raise doubt
    problems = [v.message for v in verdicts if v.message]
    if doubt is not None:
        problems.append(doubt.diagnostics)
    out = [part("result", "Boolean", valid is not None)]
    if problems:
        out.append(part("message", "String", "; ".join(problems)))
    display = (valid or verdicts[0]).display
    if display:
        out.append(part("display", "String", display))
    return parameters(out)
