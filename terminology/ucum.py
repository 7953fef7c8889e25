"""UCUM: whether a unit expression is valid, by the grammar of the UCUM specification.

https://ucum.org/ucum#section-Syntax-Rules, with the prefixes and unit atoms of the
official ``ucum-essence.xml`` (version 2.2, vendored as ``data/ucum-essence.json``). UCUM
is a grammar, not a list, so a code is valid when it parses: a term of components joined
by ``.`` and ``/`` (an optional leading ``/``), a component being a unit atom (a metric one
may take a prefix) with an optional integer exponent, a positive integer factor, a
parenthesised term, or an ``{annotation}``, any of them followed by an annotation.
Validity is checked, not meaning: ``fhir_server.search._ucum`` converts the common units
for quantity search, which is a different job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NoReturn

import orjson

UCUM = "http://unitsofmeasure.org"

_EXPONENT = re.compile(r"(?P<atom>.*?)(?P<exp>[+-]?\d+)?")
_ANNOTATION_TEXT = re.compile(r"[!-z|~]*")  # printable ASCII without the curly braces


class UcumError(ValueError):
    """The expression is not valid UCUM; the message says where."""


@dataclass(frozen=True, slots=True)
class _Tables:
    version: str
    prefixes: tuple[str, ...]
    metric: frozenset[str]
    atoms: frozenset[str]


@cache
def _tables() -> _Tables:
    data = orjson.loads(
        resources.files("terminology").joinpath("data/ucum-essence.json").read_bytes()
    )
    metric = frozenset(data["metric"])
    return _Tables(
        data["version"], tuple(data["prefixes"]), metric, metric | frozenset(data["non-metric"])
    )


def version() -> str:
    """The UCUM version of the vendored tables."""
    return _tables().version


def check(expression: str) -> None:
    """Raise UcumError unless ``expression`` is a valid UCUM unit expression."""
    if not expression:
        raise UcumError("an empty unit is not a UCUM expression")
    parser = _Parser(expression)
    parser.main_term()
    if parser.pos != len(expression):
        parser.fail("unexpected text")


def is_valid(expression: str) -> bool:
    """Whether ``expression`` is a valid UCUM unit expression."""
    try:
        check(expression)
    except UcumError:
        return False
    return True


def code_system() -> dict[str, Any]:
    """A CodeSystem resource describing UCUM (no concepts: UCUM is a grammar)."""
    return {
        "resourceType": "CodeSystem",
        "id": "ucum",
        "url": UCUM,
        "version": version(),
        "name": "UCUM",
        "title": "Unified Code for Units of Measure (UCUM)",
        "status": "active",
        "caseSensitive": True,
        "content": "not-present",
        "description": "Units are validated by the UCUM grammar and the ucum-essence tables; "
        "the code system is infinite, so it cannot be enumerated.",
    }


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> NoReturn:
        raise UcumError(f"{self.text!r} is not valid UCUM: {what} at position {self.pos + 1}")

    def main_term(self) -> None:
        if self.text.startswith("/"):
            self.pos = 1
        self.term()

    def term(self) -> None:
        self.component()
        while self.pos < len(self.text) and self.text[self.pos] in "./":
            self.pos += 1
            self.component()

    def component(self) -> None:
        if self.pos >= len(self.text):
            self.fail("a unit is missing")
        head = self.text[self.pos]
        if head == "(":
            self.pos += 1
            self.term()
            if not self.text.startswith(")", self.pos):
                self.fail("')' is missing")
            self.pos += 1
        elif head != "{":
            self.annotatable()
        if self.text.startswith("{", self.pos):
            self.annotation()

    def annotatable(self) -> None:
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if depth == 0 and char in "./(){}":
                break
            depth += (char == "[") - (char == "]")
            self.pos += 1
        symbol = self.text[start : self.pos]
        if not symbol:
            self.fail("a unit is missing")
        if symbol.isascii() and symbol.isdigit():
            if symbol.startswith("0"):
                self.fail("a factor must be a positive integer")
            return
        match = _EXPONENT.fullmatch(symbol)
        assert match is not None  # the pattern matches any text
        if not self._simple_unit(match["atom"]):
            self.pos = start
            self.fail(f"unknown unit {match['atom']!r}")

    def annotation(self) -> None:
        end = self.text.find("}", self.pos)
        if end < 0:
            self.fail("'}' is missing")
        if not _ANNOTATION_TEXT.fullmatch(self.text, self.pos + 1, end):
            self.fail("an annotation holds printable ASCII only")
        self.pos = end + 1

    @staticmethod
    def _simple_unit(symbol: str) -> bool:
        tables = _tables()
        if symbol in tables.atoms:
            return True
        return any(
            symbol.startswith(prefix) and symbol[len(prefix) :] in tables.metric
            for prefix in tables.prefixes
        )
