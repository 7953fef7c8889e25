"""``ConceptMap/$translate``. https://hl7.org/fhir/R4/conceptmap-operation-translate.html

The maps used are the instance, ``conceptMap``, the one at ``url``, or else every map
with a group from the code's system (to ``targetsystem``, and between the ``source`` and
``target`` value sets, when given). Each match gives its ``equivalence``, ``concept`` and
``source`` (the map's url); ``result`` is true when one match is neither ``unmatched`` nor
``disjoint``. ``reverse=true`` maps target codes back to their sources, with the
equivalence turned round (``wider`` becomes ``narrower``). ``group.unmapped`` applies when
a group has no element for the code: ``provided`` (equivalence ``equal``), ``fixed``
(``inexact``) and ``other-map``. Targets that carry ``dependsOn`` are not returned (the
``dependency`` parameter is not supported); the message says how many were left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from terminology.codings import Coded, coded
from terminology.errors import CannotEvaluate
from terminology.params import Inputs, Signature, parameters, part
from terminology.registry import Registry, split_canonical

JSON = dict[str, Any]

SIGNATURE = Signature(
    "ConceptMap/$translate",
    {
        "url": "text",
        "conceptMap": "resource",
        "conceptMapVersion": "text",
        "code": "text",
        "system": "text",
        "version": "text",
        "source": "text",
        "coding": "Coding",
        "codeableConcept": "CodeableConcept",
        "target": "text",
        "targetsystem": "text",
        "reverse": "boolean",
    },
    unsupported=frozenset({"dependency"}),
)
_NO_MATCH = frozenset({"unmatched", "disjoint"})
_TURNED = {
    "wider": "narrower",
    "narrower": "wider",
    "subsumes": "specializes",
    "specializes": "subsumes",
}
MAX_CHAIN = 5
"""How many ``other-map`` references are followed."""


@dataclass(frozen=True, slots=True)
class Match:
    """One output ``match``."""

    equivalence: str
    concept: JSON | None
    source: str
    product: tuple[JSON, ...] = ()


@dataclass(slots=True)
class _Search:
    registry: Registry
    targetsystem: str | None
    reverse: bool
    conditional: int = 0

    def in_map(self, cmap: JSON, coding: Coded, chain: tuple[str, ...]) -> list[Match]:
        url = cmap.get("url", "")
        found: list[Match] = []
        for group in cmap.get("group", []):
            source, target = group.get("source"), group.get("target")
            if self.reverse:
                source, target = target, source
            if source not in (None, coding.system) or self.targetsystem not in (None, target):
                continue
            if self.reverse:
                found.extend(self._backwards(group, coding, target, url))
            else:
                found.extend(self._forwards(group, coding, target, (*chain, url)))
        return found

    def _forwards(
        self, group: JSON, coding: Coded, system: str | None, chain: tuple[str, ...]
    ) -> list[Match]:
        elements = [e for e in group.get("element", []) if e.get("code") == coding.code]
        if not elements:
            return self._unmapped(group.get("unmapped"), coding, system, chain)
        found = []
        for target in (t for e in elements for t in e.get("target", [])):
            if target.get("dependsOn"):
                self.conditional += 1
                continue
            concept = self._coding(system, target, group.get("targetVersion"))
            products = tuple(_product(p) for p in target.get("product", []))
            found.append(
                Match(target.get("equivalence", "equivalent"), concept, chain[-1], products)
            )
        return found

    def _backwards(self, group: JSON, coding: Coded, system: str | None, url: str) -> list[Match]:
        found = []
        for element in group.get("element", []):
            for target in element.get("target", []):
                if target.get("code") != coding.code:
                    continue
                if target.get("dependsOn"):
                    self.conditional += 1
                    continue
                equivalence = target.get("equivalence", "equivalent")
                concept = self._coding(system, element, group.get("sourceVersion"))
                found.append(Match(_TURNED.get(equivalence, equivalence), concept, url))
        return found

    def _unmapped(
        self, unmapped: JSON | None, coding: Coded, system: str | None, chain: tuple[str, ...]
    ) -> list[Match]:
        mode = (unmapped or {}).get("mode")
        if unmapped is None or mode is None:
            return []
        if mode == "provided":
            return [Match("equal", self._coding(system, {"code": coding.code}, None), chain[-1])]
        if mode == "fixed":
            return [Match("inexact", self._coding(system, unmapped, None), chain[-1])]
        url, version = split_canonical(str(unmapped.get("url", "")))
        other = self.registry.find("ConceptMap", url, version)
        if other is None or url in chain or len(chain) > MAX_CHAIN:
            raise CannotEvaluate(f"the unmapped other-map {url} cannot be followed")
        return self.in_map(other, coding, chain)

    def _coding(self, system: str | None, item: JSON, version: str | None) -> JSON | None:
        code = item.get("code")
        if code is None:
            return None
        display = item.get("display")
        if display is None and system:
            held = self.registry.code_system(system)
            concept = held.get(code) if held else None
            display = concept.display if concept else None
        out: JSON = {"system": system} if system else {}
        if version:
            out["version"] = version
        out["code"] = code
        if display:
            out["display"] = display
        return out


def _product(other: JSON) -> JSON:
    """A ``match.product`` from a ``target.product`` (R4 OtherElement)."""
    fields = {"system": other.get("system"), "code": other.get("value")}
    fields["display"] = other.get("display")
    concept = {k: v for k, v in fields.items() if v is not None}
    element = part("element", "Uri", other.get("property", ""))
    return {"name": "product", "part": [element, part("concept", "Coding", concept)]}


def translate(registry: Registry, inputs: Inputs, instance: JSON | None = None) -> JSON:
    """The matches of the code(s) in the applicable concept maps."""
    codings = coded(inputs)
    search = _Search(registry, inputs.text("targetsystem"), inputs.boolean("reverse"))
    maps = _maps(registry, inputs, instance, codings, search.reverse)
    matches: list[Match] = []
    for coding in codings:
        for cmap in maps:
            matches.extend(m for m in search.in_map(cmap, coding, ()) if m not in matches)
    result = any(m.equivalence not in _NO_MATCH for m in matches)
    out = [part("result", "Boolean", result)]
    message = _message(codings, maps, matches, search.conditional)
    if message:
        out.append(part("message", "String", message))
    out.extend(_match(m) for m in matches)
    return parameters(out)


def _maps(
    registry: Registry, inputs: Inputs, instance: JSON | None, codings: list[Coded], reverse: bool
) -> list[JSON]:
    given = inputs.resource("conceptMap", "ConceptMap")
    chosen = instance if instance is not None else given
    if chosen is not None:
        return [chosen]
    reference = inputs.text("url")
    if reference is not None:
        url, version = split_canonical(reference)
        return [registry.get("ConceptMap", url, version or inputs.text("conceptMapVersion"))]
    systems = {c.system for c in codings if c.system}
    side, other = ("target", "source") if reverse else ("source", "target")
    params = [(f"{side}-system", system) for system in systems if len(systems) == 1]
    targetsystem = inputs.text("targetsystem")
    if targetsystem:
        params.append((f"{other}-system", targetsystem))
    wanted = {side: inputs.text("source"), other: inputs.text("target")}
    return [
        m
        for m in registry.concept_maps(params)
        if _between(m, wanted)
        and any(
            g.get(side) in systems and targetsystem in (None, g.get(other))
            for g in m.get("group", [])
        )
    ]


def _between(cmap: JSON, wanted: dict[str, str | None]) -> bool:
    for side, value in wanted.items():
        if value is None:
            continue
        declared = cmap.get(f"{side}Uri") or cmap.get(f"{side}Canonical")
        if declared is None or split_canonical(declared)[0] != split_canonical(value)[0]:
            return False
    return True


def _message(codings: list[Coded], maps: list[JSON], matches: list[Match], skipped: int) -> str:
    notes = []
    if not maps:
        notes.append(f"No concept map applies to {', '.join(c.label() for c in codings)}")
    elif not matches:
        shown = ", ".join(c.label() for c in codings)
        notes.append(f"No mapping for {shown} in {len(maps)} concept map(s)")
    if skipped:
        notes.append(
            f"{skipped} mapping(s) apply only under dependsOn conditions, which this server "
            "does not evaluate (the dependency parameter is not supported)"
        )
    return "; ".join(notes)


def _match(match: Match) -> JSON:
    parts = [part("equivalence", "Code", match.equivalence)]
    if match.concept is not None:
        parts.append(part("concept", "Coding", match.concept))
    parts.extend(match.product)
    parts.append(part("source", "Uri", match.source))
    return {"name": "match", "part": parts}
