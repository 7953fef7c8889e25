"""Resource interactions on top of the storage port. https://hl7.org/fhir/R4/http.html

Create, read, vread, update (also update-as-create), patch, delete and their conditional
variants are written once here, for every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import jsonpatch

from conformance.definitions import resource_types
from conformance.validator import is_valid_id, validate_resource
from fhir_server.core.fhirpath_patch import apply_fhirpath_patch, is_fhirpath_patch
from fhir_server.core.merge_patch import apply_merge_patch
from fhir_server.core.meta import stamp
from fhir_server.core.ports import (
    HistoryQuery,
    Method,
    Page,
    ResourceStore,
    SearchEngine,
    StoredVersion,
    VersionWrite,
)
from fhir_server.errors import (
    Gone,
    InvalidRequest,
    Issue,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    VersionConflict,
)
from fhir_server.model.ids import new_id
from fhir_server.model.instant import now
from fhir_server.search.ir import Query

T = TypeVar("T")
Params = Sequence[tuple[str, str]]
_RETRIES = 8


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a write: the version now current and whether it was created."""

    version: StoredVersion
    created: bool


def check_type(resource_type: str) -> None:
    """Raise NotFound unless ``resource_type`` is a known R4 resource type."""
    if resource_type not in resource_types():
        raise NotFound(f"Unknown resource type {resource_type!r}", code="unknown-type")


def check_resource(resource: Any, resource_type: str) -> dict[str, Any]:
    """Validate a request body as a resource of ``resource_type``."""
    if not isinstance(resource, dict):
        raise InvalidRequest("The body must be a JSON object holding a resource")
    if resource.get("resourceType") != resource_type:
        raise InvalidRequest(
            f"resourceType {resource.get('resourceType')!r} does not match the URL"
            f" ({resource_type})",
            expression=["resourceType"],
        )
    if "id" in resource and not is_valid_id(resource["id"]):
        raise InvalidRequest(f"Invalid id {resource['id']!r}", expression=[f"{resource_type}.id"])
    issues = validate_resource(resource)
    if issues:
        raise InvalidRequest("", issues=issues)
    return resource


def _without_version_meta(resource: dict[str, Any]) -> dict[str, Any]:
    meta = {
        k: v
        for k, v in (resource.get("meta") or {}).items()
        if k not in ("versionId", "lastUpdated")
    }
    rest = {k: v for k, v in resource.items() if k not in ("meta", "id")}
    return {**rest, "meta": meta} if meta else rest


def unchanged(current: StoredVersion, body: dict[str, Any]) -> bool:
    """True when ``body`` equals the current version apart from id, versionId and lastUpdated.

    Such an update creates no new version: redelivering the same content leaves history alone.
    """
    return _without_version_meta(current.resource()) == _without_version_meta(body)


class ResourceService:
    """Interactions on one ResourceStore (or one transaction of it)."""

    def __init__(self, store: ResourceStore, engine: SearchEngine) -> None:
        """Bind the service to a store and a search engine."""
        self.store = store
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[ResourceService]:
        """A service whose interactions commit together, or not at all."""
        with self.store.transaction() as tx:
            yield ResourceService(tx, self.engine)

    def read(self, resource_type: str, id: str) -> StoredVersion:
        """The current version; NotFound or Gone otherwise."""
        check_type(resource_type)
        version = self.store.read(resource_type, id)
        if version is None:
            raise NotFound(f"{resource_type}/{id} is not known", code="unknown-id")
        if version.deleted:
            raise Gone(f"{resource_type}/{id} was deleted", code="deleted")
        return version

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredVersion:
        """One version; NotFound when missing, Gone when it records a deletion."""
        check_type(resource_type)
        if not version_id.isdigit():
            raise NotFound(f"{resource_type}/{id} has no version {version_id!r}")
        version = self.store.vread(resource_type, id, int(version_id))
        if version is None:
            raise NotFound(f"{resource_type}/{id} has no version {version_id}")
        if version.deleted:
            raise Gone(f"{resource_type}/{id} version {version_id} is a deletion")
        return version

    def create(
        self,
        resource: Any,
        resource_type: str,
        *,
        id: str | None = None,
        method: Method = "POST",
    ) -> Outcome:
        """Create with a server-assigned id (a client id in the body is ignored).

        ``id`` is an id the server generated earlier (a transaction assigns them before it
        runs its entries); ``method`` "PUT" records a conditional update that matched nothing.
        """
        check_type(resource_type)
        body = check_resource(resource, resource_type)
        assigned = id or new_id()
        return Outcome(self._put(body, resource_type, assigned, 0, method), True)

    def create_conditional(self, resource: Any, resource_type: str, condition: Params) -> Outcome:
        """Create unless ``condition`` (If-None-Exist) matches: one match returns it."""
        check_type(resource_type)
        body = check_resource(resource, resource_type)

        def attempt() -> Outcome:
            with self.transaction() as svc:
                match = svc._single_match(resource_type, condition, "If-None-Exist")
                if match is not None:
                    return Outcome(match, False)
                return Outcome(svc._put(body, resource_type, new_id(), 0, "POST"), True)

        return self._retrying(attempt)

    def update(
        self, resource: Any, resource_type: str, id: str, *, if_match: int | None = None
    ) -> Outcome:
        """Update, or create with the client's id; ``if_match`` makes it version-aware."""
        check_type(resource_type)
        body = check_resource(resource, resource_type)
        if body.get("id") != id:
            raise InvalidRequest(
                f"The body's id {body.get('id')!r} does not match the URL id {id!r}",
                expression=[f"{resource_type}.id"],
            )
        return self._retrying(lambda: self._update_once(body, resource_type, id, if_match))

    def _update_once(
        self, body: dict[str, Any], resource_type: str, id: str, if_match: int | None
    ) -> Outcome:
        current = self.store.read(resource_type, id)
        current_version = 0 if current is None else current.version_id
        if if_match is not None and if_match != current_version:
            raise PreconditionFailed(
                f"If-Match version {if_match} is not the current version {current_version}",
                code="version-mismatch",
            )
        created = current is None or current.deleted
        if current is not None and not created and unchanged(current, body):
            return Outcome(current, False)
        return Outcome(self._put(body, resource_type, id, current_version, "PUT"), created)

    def update_conditional(
        self, resource: Any, resource_type: str, condition: Params, *, if_match: int | None = None
    ) -> Outcome:
        """Conditional update: no match creates, one match updates it, several give 412."""
        check_type(resource_type)
        body = check_resource(resource, resource_type)

        def attempt() -> Outcome:
            with self.transaction() as svc:
                match = svc._single_match(resource_type, condition, "The condition")
                if match is None:
                    id = body.get("id") or new_id()
                    if body.get("id") and svc.store.read(resource_type, id) is not None:
                        raise PreconditionFailed(f"{resource_type}/{id} exists but does not match")
                    return Outcome(svc._put(body, resource_type, id, 0, "PUT"), True)
                if "id" in body and body["id"] != match.id:
                    raise InvalidRequest(
                        f"The body's id {body['id']!r} is not the matched resource's"
                        f" id {match.id!r}"
                    )
                if if_match is not None and if_match != match.version_id:
                    raise PreconditionFailed(f"If-Match version {if_match} is not current")
                if unchanged(match, body):
                    return Outcome(match, False)
                version = svc._put(body, resource_type, match.id, match.version_id, "PUT")
                return Outcome(version, False)

        return self._retrying(attempt)

    def patch(
        self, patch: Any, resource_type: str, id: str, *, if_match: int | None = None
    ) -> Outcome:
        """Patch the current version.

        ``patch`` is a JSON Patch (RFC 6902, an array), a FHIRPath Patch (a ``Parameters``
        resource) or a JSON Merge Patch (RFC 7386, any other object).
        """
        check_type(resource_type)
        if not isinstance(patch, list | dict):
            raise InvalidRequest(
                "A patch body must be a JSON Patch array, a FHIRPath Patch Parameters resource"
                " or a JSON Merge Patch object"
            )
        return self._retrying(lambda: self._patch_once(patch, resource_type, id, if_match))

    def _patch_once(self, patch: Any, resource_type: str, id: str, if_match: int | None) -> Outcome:
        current = self.read(resource_type, id)
        if if_match is not None and if_match != current.version_id:
            raise PreconditionFailed(
                f"If-Match version {if_match} is not the current version {current.version_id}"
            )
        if isinstance(patch, list):
            patched = _apply_json_patch(current.resource(), patch)
        elif is_fhirpath_patch(patch):
            patched = apply_fhirpath_patch(current.resource(), patch)
        else:
            patched = apply_merge_patch(current.resource(), patch)
        if patched.get("id") != id or patched.get("resourceType") != resource_type:
            raise Unprocessable("A patch may not change resourceType or id")
        body = check_resource(patched, resource_type)
        if unchanged(current, body):
            return Outcome(current, False)
        return Outcome(self._put(body, resource_type, id, current.version_id, "PATCH"), False)

    def delete(self, resource_type: str, id: str) -> StoredVersion | None:
        """Logical delete; None when the resource was already deleted or never existed.

        R4 (http.html#delete): "Upon successful deletion, or if the resource does not exist
        at all, the server should return either a 200 OK ... or a 204 No Content".
        """
        check_type(resource_type)
        return self._retrying(lambda: self._delete_once(resource_type, id))

    def _delete_once(self, resource_type: str, id: str) -> StoredVersion | None:
        current = self.store.read(resource_type, id)
        if current is None or current.deleted:
            return None
        return self._tombstone(current)

    def delete_conditional(self, resource_type: str, condition: Params) -> StoredVersion | None:
        """Delete the single match of ``condition``; several matches give 412."""
        check_type(resource_type)

        def attempt() -> StoredVersion | None:
            with self.transaction() as svc:
                match = svc._single_match(resource_type, condition, "The condition")
                return svc._tombstone(match) if match is not None else None

        return self._retrying(attempt)

    def search(self, query: Query) -> Page:
        """One page of a parsed search."""
        return self.store.search(query)

    def parse(
        self, resource_types: Sequence[str], params: Params, *, strict: bool = False
    ) -> tuple[Query, list[Issue]]:
        """Parse a search through the engine."""
        return self.engine.parse(resource_types, params, strict=strict)

    def matches(self, resource: dict[str, Any], query: Query) -> bool:
        """Whether a resource that is not stored yet satisfies a parsed query."""
        return self.engine.matches(resource, query)

    def history(self, query: HistoryQuery) -> Page:
        """One page of history, newest first."""
        if query.resource_type is not None:
            check_type(query.resource_type)
        if query.id is not None and query.resource_type is not None:
            self._exists(query.resource_type, query.id)
        return self.store.history(query)

    def _exists(self, resource_type: str, id: str) -> None:
        if self.store.read(resource_type, id) is None:
            raise NotFound(f"{resource_type}/{id} is not known")

    def _single_match(
        self, resource_type: str, condition: Params, what: str
    ) -> StoredVersion | None:
        """The one match of a conditional interaction, None for none; several give 412."""
        matches = self._matches(resource_type, condition)
        if len(matches) > 1:
            raise PreconditionFailed(
                f"{what} matched {len(matches)} resources", code="multiple-matches"
            )
        return matches[0] if matches else None

    def _matches(self, resource_type: str, condition: Params) -> list[StoredVersion]:
        if not condition:
            raise PreconditionFailed("A conditional interaction needs search criteria")
        query, _ = self.engine.parse([resource_type], condition, strict=True)
        page = self.store.search(Query(query.resource_types, query.where, count=2, total="none"))
        return page.entries

    def _tombstone(self, current: StoredVersion) -> StoredVersion:
        write = VersionWrite(
            current.resource_type,
            current.id,
            current.version_id + 1,
            now(),
            "DELETE",
            None,
            current.version_id,
        )
        self.store.write([write])
        return StoredVersion(
            write.resource_type, write.id, write.version_id, write.last_updated, "DELETE", None
        )

    def _put(
        self, body: dict[str, Any], resource_type: str, id: str, expected: int, method: Method
    ) -> StoredVersion:
        version_id = expected + 1
        last_updated = now()
        content = stamp(body, id, version_id, last_updated)
        index = self.engine.extract({**body, "id": id})
        write = VersionWrite(
            resource_type, id, version_id, last_updated, method, content, expected, index
        )
        self.store.write([write])
        return StoredVersion(resource_type, id, version_id, last_updated, method, content)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for _ in range(_RETRIES - 1):
            try:
                return attempt()
            except VersionConflict:
                continue
        return attempt()


def _apply_json_patch(resource: dict[str, Any], patch: Any) -> dict[str, Any]:
    """``resource`` with a JSON Patch (RFC 6902) applied."""
    try:
        patched: dict[str, Any] = jsonpatch.apply_patch(resource, patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise Unprocessable(f"The patch cannot be applied: {exc}") from exc
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidRequest(f"Malformed JSON Patch: {exc}") from exc
    return patched
