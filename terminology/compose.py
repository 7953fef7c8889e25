"""ValueSet content: expansion and membership, from ``compose`` (or a stored ``expansion``).

https://hl7.org/fhir/R4/valueset.html#compose. An include selects codes of one system (a
``concept`` list, ``filter``s, or all codes), intersected with any imported ``valueSet``s;
excludes are taken away. Listing all codes needs the whole code system: for LOINC, SNOMED
CT, RxNorm, UCUM and the like that is ``TooCostly``; a system the server does not hold, or
holds only in part, is a ``CannotEvaluate`` (422), never a silently short answer.
Membership (``$validate-code``) is decided per include, without expanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_server.errors import TooCostly
from terminology import ucum
from terminology.concepts import Concept, Concepts
from terminology.errors import CannotEvaluate
from terminology.filters import matching
from terminology.registry import Registry, split_canonical

JSON = dict[str, Any]
Key = tuple[str, str]

MAX_CODES = 10_000
"""The largest expansion the server builds."""
MAX_DEPTH = 8
"""How deep value sets may import value sets."""
UNBOUNDED = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    ucum.UCUM: "UCUM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://www.ama-assn.org/go/cpt": "CPT",
    "http://hl7.org/fhir/sid/ndc": "NDC",
    "urn:iso:std:iso:11073:10101": "IEEE 11073-10101 (MDC)",
}
"""Code systems far too large (or infinite) to list in an expansion."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One code of a value set."""

    system: str
    code: str
    display: str | None = None
    version: str | None = None
    abstract: bool = False
    inactive: bool = False
    designations: tuple[JSON, ...] = ()


def entry_of(system: Concepts, concept: Concept) -> Entry:
    """The value-set entry of a code system concept."""
    return Entry(
        system.url,
        concept.code,
        concept.display,
        system.version,
        concept.abstract,
        concept.inactive,
        tuple(concept.designations),
    )


class Composer:
    """Evaluates value set definitions against the content a Registry resolves."""

    def __init__(self, registry: Registry, limit: int = MAX_CODES) -> None:
        """Use ``registry``; expansions larger than ``limit`` are TooCostly."""
        self.registry = registry
        self.limit = limit

    def expand(self, value_set: JSON) -> list[Entry]:
        """Every code of the value set, in definition order."""
        return list(self._expand(value_set, ()).values())

    def member(self, value_set: JSON, system: str, code: str) -> Entry | None:
        """The value set's entry for system|code, or None when it is not in the value set."""
        return self._member(value_set, system, code, ())

    def _enter(self, value_set: JSON, chain: tuple[str, ...]) -> tuple[str, ...]:
        url = value_set.get("url", "")
        if url and url in chain:
            raise CannotEvaluate(f"ValueSet {url} imports itself (through {' -> '.join(chain)})")
        if len(chain) >= MAX_DEPTH:
            raise CannotEvaluate(f"value sets import each other more than {MAX_DEPTH} deep")
        return (*chain, url)

    def _expand(self, value_set: JSON, chain: tuple[str, ...]) -> dict[Key, Entry]:
        chain = self._enter(value_set, chain)
        compose = value_set.get("compose")
        if compose is None:
            return self._stored_expansion(value_set)
        entries: dict[Key, Entry] = {}
        for include in compose.get("include", []):
            for entry in self._include(include, chain):
                entries.setdefault((entry.system, entry.code), entry)
            if len(entries) > self.limit:
                raise TooCostly(f"the expansion has more than {self.limit} codes")
        for exclude in compose.get("exclude", []):
            for entry in self._include(exclude, chain):
                entries.pop((entry.system, entry.code), None)
        if compose.get("inactive") is False:
            return {k: e for k, e in entries.items() if not e.inactive}
        return entries

    def _include(self, include: JSON, chain: tuple[str, ...]) -> list[Entry]:
        imported = [self._expand(self._imported(r), chain) for r in include.get("valueSet", [])]
        if "system" not in include:
            if not imported:
                raise CannotEvaluate("a compose include needs a system or a valueSet")
            first, *rest = imported
            return [e for key, e in first.items() if all(key in other for other in rest)]
        entries = self._from_system(include)
        return [e for e in entries if all((e.system, e.code) in other for other in imported)]

    def _from_system(self, include: JSON) -> list[Entry]:
        system, version = include["system"], include.get("version")
        if include.get("concept"):
            known = self.registry.code_system(system, version)
            return [self._listed(include, known, item) for item in include["concept"]]
        filters = include.get("filter", [])
        if not filters and system in UNBOUNDED:
            raise TooCostly(f"an expansion of all of {UNBOUNDED[system]} is not possible")
        held = self._complete(system, version)
        selected = [matching(held, f) for f in filters]
        return [entry_of(held, c) for c in held if all(c.code in codes for codes in selected)]

    def _listed(self, include: JSON, known: Concepts | None, item: JSON) -> Entry:
        system, code = include["system"], str(item.get("code", ""))
        concept = known.get(code) if known else None
        if known is not None and known.complete and concept is None:
            raise CannotEvaluate(f"{code!r} is not a code of {system}")
        return Entry(
            system,
            concept.code if concept else code,
            item.get("display") or (concept.display if concept else None),
            known.version if known else include.get("version"),
            concept.abstract if concept else False,
            concept.inactive if concept else False,
            tuple(item.get("designation") or (concept.designations if concept else ())),
        )

    def _complete(self, system: str, version: str | None) -> Concepts:
        held = self.registry.code_system(system, version)
        if held is None:
            raise self._not_held(system, version)
        if not held.complete:
            raise CannotEvaluate(
                f"{held.name} is held only in part (content: {held.content}), "
                "so this selection of its codes cannot be evaluated"
            )
        return held

    def _not_held(self, system: str, version: str | None) -> CannotEvaluate:
        if version and self.registry.code_system(system) is not None:
            return CannotEvaluate(f"version {version} of {system} is not held by this server")
        return CannotEvaluate(f"the code system {system} is not held by this server")

    def _imported(self, reference: str) -> JSON:
        url, version = split_canonical(reference)
        found = self.registry.find("ValueSet", url, version)
        if found is None:
            raise CannotEvaluate(f"the imported ValueSet {reference} is not known")
        return found

    def _stored_expansion(self, value_set: JSON) -> dict[Key, Entry]:
        expansion = value_set.get("expansion")
        if expansion is None:
            raise CannotEvaluate("the value set has neither a compose nor an expansion")
        entries: dict[Key, Entry] = {}
        pending = list(reversed(expansion.get("contains", [])))
        while pending:  # bounded by the size of the stored expansion
            item = pending.pop()
            pending.extend(reversed(item.get("contains", [])))
            if "code" in item and "system" in item:
                entries[(item["system"], item["code"])] = Entry(
                    item["system"],
                    item["code"],
                    item.get("display"),
                    item.get("version"),
                    item.get("abstract", False),
                    item.get("inactive", False),
                    tuple(item.get("designation", [])),
                )
        total = expansion.get("total")
        if isinstance(total, int) and total > len(entries):
            raise CannotEvaluate(
                f"the stored expansion holds {len(entries)} of its {total} codes (a page)"
            )
        return entries

    def _member(
        self, value_set: JSON, system: str, code: str, chain: tuple[str, ...]
    ) -> Entry | None:
        chain = self._enter(value_set, chain)
        compose = value_set.get("compose")
        if compose is None:
            return self._stored_expansion(value_set).get((system, code))
        found, doubt = None, None
        for include in compose.get("include", []):
            try:
                found = self._include_member(include, system, code, chain)
            except CannotEvaluate as exc:  # another include may still decide
                doubt = doubt or exc
                continue
            if found is not None:
                break
        if found is None and doubt is not None:
            raise doubt
        if found is None or (compose.get("inactive") is False and found.inactive):
            return None
        for exclude in compose.get("exclude", []):
            if self._include_member(exclude, system, code, chain) is not None:
                return None
        return found

    def _include_member(
        self, include: JSON, system: str, code: str, chain: tuple[str, ...]
    ) -> Entry | None:
        if include.get("system", system) != system:
            return None
        found = self._system_member(include, code) if "system" in include else None
        if "system" in include and found is None:
            return None
        for reference in include.get("valueSet", []):
            imported = self._member(self._imported(reference), system, code, chain)
            if imported is None:
                return None
            found = found or imported
        if found is None:
            raise CannotEvaluate("a compose include needs a system or a valueSet")
        return found

    def _system_member(self, include: JSON, code: str) -> Entry | None:
        system, version = include["system"], include.get("version")
        if include.get("concept"):
            known = self.registry.code_system(system, version)
            fold = known is not None and not known.case_sensitive
            for item in include["concept"]:
                listed = str(item.get("code", ""))
                if listed == code or (fold and listed.casefold() == code.casefold()):
                    return self._listed(include, known, item)
            return None
        if "filter" in include:
            held = self._complete(system, version)
            concept = held.get(code)
            if concept is None or not all(
                concept.code in matching(held, f) for f in include["filter"]
            ):
                return None
            return entry_of(held, concept)
        return self._whole_system_member(system, version, code)

    def _whole_system_member(self, system: str, version: str | None, code: str) -> Entry | None:
        if system == ucum.UCUM:
            return Entry(system, code, code, ucum.version()) if ucum.is_valid(code) else None
        held = self.registry.code_system(system, version)
        if held is None:
            raise self._not_held(system, version)
        concept = held.get(code)
        if concept is not None:
            return entry_of(held, concept)
        if held.complete:
            return None
        raise CannotEvaluate(
            f"{held.name} is held only in part (content: {held.content}): "
            f"whether {code!r} belongs to it is unknown here"
        )
