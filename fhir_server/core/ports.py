"""Ports: what the core needs from storage. Adapters in ``fhir_server.storage`` implement them.

https://hl7.org/fhir/R4/http.html. The port is synchronous (docs/adr/0002-sync-storage-port.md):
SQLite is synchronous, PyMongo's synchronous client is fully supported, and FastAPI runs
``def`` handlers in its thread pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson

from fhir_server.errors import Issue
from fhir_server.search.index import IndexEntry
from fhir_server.search.ir import Query

Method = Literal["POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One stored version of a resource.

    Attributes:
        resource_type: the resource type.
        id: the logical id.
        version_id: 1, 2, 3, ... per resource.
        last_updated: when this version was written (UTC).
        method: the interaction that made this version.
        content: the resource as JSON bytes, meta included; None when this version is a delete.
    """

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    method: Method
    content: bytes | None

    @property
    def deleted(self) -> bool:
        """True when this version records a deletion."""
        return self.content is None

    def resource(self) -> dict[str, Any]:
        """The resource as a dict (parsed on each call)."""
        if self.content is None:
            raise ValueError(f"{self.resource_type}/{self.id} version {self.version_id} is deleted")
        parsed: dict[str, Any] = orjson.loads(self.content)
        return parsed


@dataclass(frozen=True, slots=True)
class VersionWrite:
    """A new version to store, and the version it must replace.

    Attributes:
        resource_type: the resource type.
        id: the logical id.
        version_id: the new version number (``expected_version + 1``).
        last_updated: the new version's timestamp.
        method: the interaction.
        content: the resource JSON (meta set) or None for a delete.
        expected_version: the current version this write replaces; 0 when none exists.
            A mismatch raises ``VersionConflict`` and writes nothing.
        index: search index entries of the new version (empty for a delete).
    """

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    method: Method
    content: bytes | None
    expected_version: int
    index: Sequence[IndexEntry] = ()


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A history interaction: system (no type), type (no id) or instance level.

    Attributes:
        resource_type: None for system history.
        id: None for type or system history.
        since: only versions updated at or after this instant.
        at: only the version current at this instant (per resource).
        until: snapshot bound (inclusive) that keeps paging stable.
        count: page size.
        offset: entries to skip.
    """

    resource_type: str | None = None
    id: str | None = None
    since: datetime | None = None
    at: datetime | None = None
    until: datetime | None = None
    count: int = 20
    offset: int = 0


@dataclass(slots=True)
class Page:
    """A page of stored versions with the total when it was counted."""

    entries: list[StoredVersion]
    total: int | None = None
    included: list[StoredVersion] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A change event written in the same atomic unit as the version it announces."""

    seq: int
    resource_type: str
    id: str
    version_id: int
    method: Method
    recorded: datetime


class ResourceStore(Protocol):
    """Storage of current and historical versions, search indexes and the outbox."""

    backend: str

    def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """The current version (possibly a deletion), or None when the id never existed."""
        ...

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredVersion | None:
        """One version, or None when it does not exist."""
        ...

    def write(self, writes: Sequence[VersionWrite]) -> None:
        """Store all ``writes`` atomically, with their outbox events, durably.

        Raises:
            VersionConflict: a write's ``expected_version`` is not the current version.
            StorageUnavailable: the database cannot be used.
        """
        ...

    def search(self, query: Query) -> Page:
        """Current, non-deleted resources matching ``query``, one page of them."""
        ...

    def history(self, query: HistoryQuery) -> Page:
        """Versions newest first, one page of them, with the total count."""
        ...

    def explain(self, query: Query) -> str:
        """The compiled backend query for ``query`` (for debugging)."""
        ...

    def transaction(self) -> AbstractContextManager[ResourceStore]:
        """A serializable unit: reads see earlier writes of the unit; all commit or none."""
        ...

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """Outbox events with a sequence number above ``seq``, oldest first."""
        ...

    def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class SearchEngine(Protocol):
    """Search-parameter knowledge the core needs: index extraction and query parsing."""

    def extract(self, resource: dict[str, Any]) -> Sequence[IndexEntry]:
        """Index entries of every enabled search parameter of the resource's type."""
        ...

    def parse(
        self, resource_types: Sequence[str], params: Sequence[tuple[str, str]], *, strict: bool
    ) -> tuple[Query, list[Issue]]:
        """A query string (as pairs) to a Query, with warnings for ignored parameters.

        Raises:
            InvalidRequest: a malformed value (always) or unknown parameter (strict).
        """
        ...

    def matches(self, resource: dict[str, Any], query: Query) -> bool:
        """Whether one resource (not yet stored) satisfies a query without chains or _has."""
        ...
