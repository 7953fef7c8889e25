"""The terminology content the package ships, loaded on first use.

* ``data/codesystems-valuesets.ndjson.gz``: the 496 CodeSystems and 673 ValueSets of the R4
  core (``valuesets.json``) and the 424 CodeSystems and 428 ValueSets of the HL7 v2 tables
  (``v2-tables.json``), narratives dropped (see ``data/README.md``);
* ``data/conceptmaps.ndjson.gz``: the 19 R4 core ConceptMaps;
* built in: the LOINC vital-signs fragment, the MDC vital-signs fragment, the MDC -> LOINC
  ConceptMap and a concept-less UCUM CodeSystem.

Each data file starts with an index line (type, url, version of every resource), then
holds one resource per line: loading reads the index and keeps each resource as JSON bytes,
parsed the first time it is asked for. Everything is indexed by type and canonical
``url``, then ``version``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

import orjson

from terminology import loinc, mdc, ucum
from terminology.concepts import Concepts

JSON = dict[str, Any]
Item = tuple[str, str, str, bytes | JSON]
"""Resource type, url, version ("" when none), and the resource (JSON bytes or parsed)."""


class Canonicals:
    """Canonical resources by (type, url) and version, with cached concept indexes."""

    def __init__(self, items: Iterable[Item]) -> None:
        """Index ``items``; a later resource with the same url and version replaces one."""
        self._by_url: dict[tuple[str, str], dict[str, bytes | JSON]] = {}
        for resource_type, url, version, resource in items:
            self._by_url.setdefault((resource_type, url), {})[version] = resource
        self._concepts: dict[int, Concepts] = {}

    def find(self, resource_type: str, url: str, version: str | None = None) -> JSON | None:
        """The resource with this url (and version; the last one loaded when None)."""
        versions = self._by_url.get((resource_type, url))
        if not versions:
            return None
        if version is None:
            version = list(versions)[-1]
        elif version not in versions:
            return None
        return self._parsed(versions, version)

    def of_type(self, resource_type: str) -> Iterator[JSON]:
        """Every resource of one type."""
        for (kind, _url), versions in self._by_url.items():
            if kind == resource_type:
                yield from (self._parsed(versions, v) for v in list(versions))

    def concepts(self, code_system: JSON) -> Concepts:
        """The concept index of a CodeSystem; cached when it is one of these resources."""
        held = self.find("CodeSystem", code_system.get("url", ""), code_system.get("version", ""))
        if held is not code_system:
            return Concepts(code_system)
        key = id(code_system)
        index = self._concepts.get(key)
        if index is None:
            index = self._concepts[key] = Concepts(code_system)
        return index

    @staticmethod
    def _parsed(versions: dict[str, bytes | JSON], version: str) -> JSON:
        resource = versions[version]
        if isinstance(resource, bytes):
            resource = versions[version] = orjson.loads(resource)
        return resource


def _load(name: str) -> Iterator[Item]:
    data = gzip.decompress(resources.files("terminology").joinpath("data", name).read_bytes())
    index, *lines = data.rstrip(b"\n").split(b"\n")
    for (resource_type, url, version), line in zip(orjson.loads(index), lines, strict=True):
        yield resource_type, url, version, line


def _items(parsed: Iterable[JSON]) -> Iterator[Item]:
    for resource in parsed:
        url, version = resource.get("url", ""), resource.get("version", "")
        yield resource["resourceType"], url, version, resource


@cache
def bundled() -> Canonicals:
    """The shipped content (indexed on the first call; each resource parsed when used)."""
    built_in = [loinc.code_system(), mdc.code_system(), mdc.concept_map(), ucum.code_system()]
    return Canonicals(
        [
            *_load("codesystems-valuesets.ndjson.gz"),
            *_load("conceptmaps.ndjson.gz"),
            *_items(built_in),
        ]
    )
