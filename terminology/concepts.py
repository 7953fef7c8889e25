"""The concepts of one CodeSystem, indexed by code with their hierarchy.

https://hl7.org/fhir/R4/codesystem.html. A hierarchy comes from nested ``concept`` elements
and from the ``parent``/``child`` properties
(https://hl7.org/fhir/R4/codesystem-concept-properties.html); ``notSelectable`` (or a
code system's own boolean ``abstract`` property) marks abstract concepts; ``inactive`` or
``status = retired`` marks inactive ones (``deprecated`` concepts are still active in R4).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


def property_value(prop: JSON) -> str | None:
    """The value of a concept property as text (a Coding gives its code)."""
    for key, value in prop.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict):
            code = value.get("code")
            return code if isinstance(code, str) else None
        return str(value)
    return None


def display_in(
    language: str | None, display: str | None, designations: Iterable[JSON]
) -> str | None:
    """The display in ``language`` (``displayLanguage``) when a designation gives one.

    An exact language tag wins over the same base language (``de`` for ``de-CH``);
    without a matching designation the default display is kept.
    """
    if not language:
        return display
    by_language: dict[str, str] = {}
    for designation in designations:
        value = designation.get("value")
        if isinstance(value, str):
            by_language.setdefault(str(designation.get("language", "")).lower(), value)
    wanted = language.lower()
    return by_language.get(wanted) or by_language.get(wanted.split("-")[0]) or display


@dataclass(slots=True)
class Concept:
    """One concept of a code system."""

    code: str
    display: str | None
    definition: str | None
    designations: list[JSON]
    properties: list[JSON]
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        """The values of property ``name`` as text."""
        found = (property_value(p) for p in self.properties if p.get("code") == name)
        return [v for v in found if v is not None]

    @property
    def abstract(self) -> bool:
        """Not selectable: a grouper."""
        return "true" in self.values("notSelectable") or "true" in self.values("abstract")

    @property
    def inactive(self) -> bool:
        """No longer a valid concept."""
        return "true" in self.values("inactive") or "retired" in self.values("status")


class Concepts:
    """The indexed content of one CodeSystem resource."""

    def __init__(self, code_system: JSON) -> None:
        """Index ``code_system`` (its nested concepts and hierarchy properties)."""
        self.resource = code_system
        self.url: str = code_system.get("url", "")
        self.version: str | None = code_system.get("version")
        self.content: str = code_system.get("content", "complete")
        self.case_sensitive = code_system.get("caseSensitive") is not False
        self._by_code: dict[str, Concept] = {}
        self._walk(code_system.get("concept", []), None)
        for concept in self._by_code.values():
            for parent in concept.values("parent") + concept.values("subsumedBy"):
                self._link(parent, concept.code)
            for child in concept.values("child"):
                self._link(concept.code, child)
        self._folded = (
            {} if self.case_sensitive else {code.casefold(): c for code, c in self._by_code.items()}
        )

    def _walk(self, concepts: list[JSON], parent: str | None) -> None:
        for item in concepts:
            code = item.get("code")
            if not isinstance(code, str):
                continue
            self._by_code[code] = Concept(
                code,
                item.get("display"),
                item.get("definition"),
                list(item.get("designation", [])),
                list(item.get("property", [])),
            )
            if parent is not None:
                self._link(parent, code)
            self._walk(item.get("concept", []), code)

    def _link(self, parent: str, child: str) -> None:
        upper, lower = self._by_code.get(parent), self._by_code.get(child)
        if upper is None or lower is None or child in upper.children:
            return
        upper.children.append(child)
        lower.parents.append(parent)

    @property
    def name(self) -> str:
        """A display name for the code system."""
        return str(self.resource.get("title") or self.resource.get("name") or self.url)

    @property
    def complete(self) -> bool:
        """Whether the resource holds every concept of the code system."""
        return self.content == "complete"

    def get(self, code: str) -> Concept | None:
        """The concept with this code (case-insensitively if the system says so)."""
        found = self._by_code.get(code)
        if found is None and not self.case_sensitive:
            found = self._folded.get(code.casefold())
        return found

    def __iter__(self) -> Iterator[Concept]:
        """The concepts in definition order."""
        return iter(self._by_code.values())

    def __len__(self) -> int:
        """How many concepts the resource holds."""
        return len(self._by_code)

    def descendants(self, code: str) -> list[str]:
        """The codes below ``code`` (any depth), not ``code`` itself."""
        return self._closure(code, "children")

    def ancestors(self, code: str) -> list[str]:
        """The codes above ``code`` (any depth), not ``code`` itself."""
        return self._closure(code, "parents")

    def _closure(self, code: str, direction: str) -> list[str]:
        seen: dict[str, None] = {}
        concept = self.get(code)
        pending = list(getattr(concept, direction)) if concept else []
        while pending:  # bounded: each code is visited once
            current = pending.pop()
            if current in seen or current == code:
                continue
            seen[current] = None
            pending.extend(getattr(self._by_code[current], direction))
        return list(seen)
