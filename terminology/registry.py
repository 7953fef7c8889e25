"""Where the operations find CodeSystems, ValueSets and ConceptMaps.

The server's stored resources come first (through a :class:`ResourceSource`, which the API
binds to the caller's access policy), then the shipped content (``terminology.content``).
A canonical may carry a version (``url|version``); without one, the most recently updated
stored resource, or the shipped one, is used. Look-ups are memoised for one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fhir_server.errors import NotFound
from terminology.concepts import Concepts
from terminology.content import Canonicals, bundled

JSON = dict[str, Any]
Params = Sequence[tuple[str, str]]
_PAGE = "50"
"""Stored ConceptMaps read per ``$translate`` search (the most recently updated first)."""


class ResourceSource(Protocol):
    """The server's stored resources, as the current caller may see them."""

    def read(self, resource_type: str, id: str) -> JSON:
        """The current version of a resource; raises NotFound (or Gone, Forbidden)."""
        ...

    def search(self, resource_type: str, params: Params) -> list[JSON]:
        """The resources matching an R4 search (one page)."""
        ...


def split_canonical(reference: str) -> tuple[str, str | None]:
    """``url|version`` -> (url, version); (url, None) without a version."""
    url, bar, version = reference.partition("|")
    return url, (version if bar and version else None)


class Registry:
    """Resolution of terminology resources for one request."""

    def __init__(self, source: ResourceSource | None = None, content: Canonicals | None = None):
        """Search ``source`` first (when given), then ``content`` (the shipped content)."""
        self._source = source
        self._content = content or bundled()
        self._memo: dict[tuple[str, str, str | None], JSON | None] = {}
        self._indexes: dict[int, tuple[JSON, Concepts]] = {}

    def read(self, resource_type: str, id: str) -> JSON:
        """A stored resource by id (the instance-level operations)."""
        if self._source is None:
            raise NotFound(f"{resource_type}/{id} is not known")
        return self._source.read(resource_type, id)

    def find(self, resource_type: str, url: str, version: str | None = None) -> JSON | None:
        """The resource with this canonical url (and version), or None."""
        key = (resource_type, url, version)
        if key not in self._memo:
            found = self._stored(resource_type, url, version)
            if found is None:
                found = self._content.find(resource_type, url, version)
            self._memo[key] = found
        return self._memo[key]

    def get(self, resource_type: str, url: str, version: str | None = None) -> JSON:
        """As ``find``, raising NotFound (404) when there is no such resource."""
        found = self.find(resource_type, url, version)
        if found is None:
            shown = f"{url}|{version}" if version else url
            raise NotFound(f"{resource_type} {shown} is not known", code="terminology-unknown")
        return found

    def code_system(self, url: str, version: str | None = None) -> Concepts | None:
        """The indexed CodeSystem with this url (and version), or None."""
        resource = self.find("CodeSystem", url, version)
        return None if resource is None else self.concepts(resource)

    def concepts(self, code_system: JSON) -> Concepts:
        """The concept index of a CodeSystem resource (built once per request)."""
        held = self._indexes.get(id(code_system))
        if held is None:  # the resource is kept with its index, so its id stays unique
            held = self._indexes[id(code_system)] = (
                code_system,
                self._content.concepts(code_system),
            )
        return held[1]

    def concept_maps(self, params: Params) -> list[JSON]:
        """Stored ConceptMaps matching ``params``, then every shipped one (callers filter)."""
        stored = self._search("ConceptMap", [*params, ("_count", _PAGE)])
        return stored + list(self._content.of_type("ConceptMap"))

    def _stored(self, resource_type: str, url: str, version: str | None) -> JSON | None:
        params = [("url", url), ("_count", "1")]
        if version is not None:
            params.append(("version", version))
        found = self._search(resource_type, params)
        return found[0] if found else None

    def _search(self, resource_type: str, params: Params) -> list[JSON]:
        if self._source is None:
            return []
        ordered = [*params, ("_sort", "-_lastUpdated"), ("_total", "none")]
        return self._source.search(resource_type, ordered)
