"""``GuardedService``: the resource service bound to one caller, applying the access policy.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html

Every public interaction of ``ResourceService`` is overridden here explicitly (a unit test
checks that none is inherited), so nothing unguarded is reachable through the guard:

* read, vread, instance history: ``authorize`` the type (403 if not), then the resource
  must be ``visible``. A hidden resource is answered exactly like one that does not exist
  (404, the core's own message), whether it exists, was deleted or never existed, so a
  restricted token cannot probe for ids; a deletion is 410 only when the content it
  deleted was visible.
* search: ``authorize``; the ``search_restrictions`` are ANDed into the query; matches and
  ``_include``/``_revinclude`` results that are not ``visible`` are dropped.
* history: ``authorize`` at its level; for a restricted caller the visible versions up to
  the snapshot are collected first and paged after, so ``total`` counts only them.
* writes: ``authorize_content`` on the new content and, for update/patch/delete and the
  conditional variants, on the content being replaced, in one transaction (a failed
  check after the write rolls it back).
* transaction: yields a guard over the transaction's service, so Bundle entries pass too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fhir_server.auth.policy import (
    Caller,
    Constraints,
    Interaction,
    Level,
    Restriction,
    authorize,
    authorize_content,
    search_restrictions,
    visible,
)
from fhir_server.core.ports import HistoryQuery, Method, Page, StoredVersion
from fhir_server.core.resources import Outcome, Params, ResourceService
from fhir_server.errors import Forbidden, Gone, Issue, NotFound
from fhir_server.search.ir import AllOf, AnyOf, Query, RefMatch, Term, TokenMatch
from fhir_server.search.match import matches
from fhir_server.search.registry import default_registry

_HIDDEN = "the resource lies outside what the granted scopes allow"
_SCAN = 1000
"""History versions read per store call while collecting a restricted caller's history."""


class GuardedService(ResourceService):
    """A ``ResourceService`` whose every interaction passes the policy for one caller."""

    def __init__(self, inner: ResourceService, caller: Caller) -> None:
        """Guard ``inner`` for ``caller``.

        ``super().__init__`` is deliberately not called: the guard keeps no store or engine
        of its own, so the unguarded store cannot be reached through it.
        """
        self._inner = inner
        self._caller = caller

    @property
    def caller(self) -> Caller:
        """The caller this service is bound to."""
        return self._caller

    @contextmanager
    def transaction(self) -> Iterator[ResourceService]:
        """A guarded service whose interactions commit together, or not at all."""
        with self._inner.transaction() as tx:
            yield GuardedService(tx, self._caller)

    def read(self, resource_type: str, id: str) -> StoredVersion:
        """Read, if the scopes allow this type and this resource."""
        authorize(self._caller, "read", resource_type)
        if self._open(resource_type, "read"):
            return self._inner.read(resource_type, id)
        try:
            version = self._inner.read(resource_type, id)
        except Gone:
            if not self._was_visible(resource_type, id, None):
                raise _unknown_id(resource_type, id) from None
            raise
        if not self._visible(version):
            raise _unknown_id(resource_type, id)
        return version

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredVersion:
        """Vread, if the scopes allow this type and this version."""
        authorize(self._caller, "vread", resource_type)
        if self._open(resource_type, "read"):
            return self._inner.vread(resource_type, id, version_id)
        try:
            version = self._inner.vread(resource_type, id, version_id)
        except Gone:
            if not self._was_visible(resource_type, id, int(version_id)):
                raise _no_version(resource_type, id, version_id) from None
            raise
        if not self._visible(version):
            raise _no_version(resource_type, id, version_id)
        return version

    def create(
        self,
        resource: Any,
        resource_type: str,
        *,
        id: str | None = None,
        method: Method = "POST",
    ) -> Outcome:
        """Create, if the scopes allow writing this content (a PUT creating needs update)."""
        self._allow_new("update" if method == "PUT" else "create", resource, resource_type)
        return self._inner.create(resource, resource_type, id=id, method=method)

    def create_conditional(self, resource: Any, resource_type: str, condition: Params) -> Outcome:
        """Conditional create; a match the caller may not see is refused, not returned."""
        self._allow_new("create", resource, resource_type)
        if self._open(resource_type, "read"):
            return self._inner.create_conditional(resource, resource_type, condition)
        with self._inner.transaction() as tx:
            self._allow_matches(tx, resource_type, condition, "read")
            return tx.create_conditional(resource, resource_type, condition)

    def update(
        self, resource: Any, resource_type: str, id: str, *, if_match: int | None = None
    ) -> Outcome:
        """Update, if the scopes allow both the replaced and the new content."""
        self._allow_new("update", resource, resource_type)
        if self._open(resource_type, "update"):
            return self._inner.update(resource, resource_type, id, if_match=if_match)
        with self._inner.transaction() as tx:
            self._allow_current(tx, resource_type, id, "update")
            return tx.update(resource, resource_type, id, if_match=if_match)

    def update_conditional(
        self, resource: Any, resource_type: str, condition: Params, *, if_match: int | None = None
    ) -> Outcome:
        """Conditional update, checking the matched resource and the new content."""
        self._allow_new("update", resource, resource_type)
        if self._open(resource_type, "update"):
            return self._inner.update_conditional(
                resource, resource_type, condition, if_match=if_match
            )
        with self._inner.transaction() as tx:
            self._allow_matches(tx, resource_type, condition, "update")
            return tx.update_conditional(resource, resource_type, condition, if_match=if_match)

    def patch(
        self, patch: Any, resource_type: str, id: str, *, if_match: int | None = None
    ) -> Outcome:
        """Patch; the content before and after the patch must both be allowed."""
        authorize(self._caller, "patch", resource_type)
        if self._open(resource_type, "patch"):
            return self._inner.patch(patch, resource_type, id, if_match=if_match)
        with self._inner.transaction() as tx:
            self._allow_current(tx, resource_type, id, "patch")
            outcome = tx.patch(patch, resource_type, id, if_match=if_match)
            self._allow_content("patch", outcome.version.resource())
            return outcome

    def delete(self, resource_type: str, id: str) -> StoredVersion | None:
        """Delete, if the scopes allow deleting this resource."""
        authorize(self._caller, "delete", resource_type)
        if self._open(resource_type, "delete"):
            return self._inner.delete(resource_type, id)
        with self._inner.transaction() as tx:
            self._allow_current(tx, resource_type, id, "delete")
            return tx.delete(resource_type, id)

    def delete_conditional(self, resource_type: str, condition: Params) -> StoredVersion | None:
        """Conditional delete, if the scopes allow deleting the matched resource."""
        authorize(self._caller, "delete", resource_type)
        if self._open(resource_type, "delete"):
            return self._inner.delete_conditional(resource_type, condition)
        with self._inner.transaction() as tx:
            self._allow_matches(tx, resource_type, condition, "delete")
            return tx.delete_conditional(resource_type, condition)

    def parse(
        self, resource_types: Sequence[str], params: Params, *, strict: bool = False
    ) -> tuple[Query, list[Issue]]:
        """Parse a search (no data is read)."""
        return self._inner.parse(resource_types, params, strict=strict)

    def search(self, query: Query) -> Page:
        """Search within what the scopes allow; hidden includes are dropped."""
        page = self._inner.search(self.restrict(query))
        page.entries = [v for v in page.entries if self._visible(v)]
        page.included = [v for v in page.included if self._visible(v)]
        return page

    def matches(self, resource: dict[str, Any], query: Query) -> bool:
        """Whether a not-yet-stored resource satisfies the query as the caller may search it."""
        return self._inner.matches(resource, self.restrict(query))

    def history(self, query: HistoryQuery) -> Page:
        """History at any level, without the versions the caller may not see."""
        self._allow_history(query)
        if query.resource_type is not None and self._open(query.resource_type, "read"):
            return self._inner.history(query)
        return self._visible_history(query)

    def _visible_history(self, query: HistoryQuery) -> Page:
        """The visible versions up to the snapshot, paged: ``total`` counts only them."""
        scan = replace(query, offset=0, count=_SCAN)
        first = self._inner.history(scan)
        shown = [v for v in first.entries if self._visible_version(v)]
        for offset in range(_SCAN, first.total or 0, _SCAN):
            page = self._inner.history(replace(scan, offset=offset))
            shown.extend(v for v in page.entries if self._visible_version(v))
        return Page(shown[query.offset : query.offset + query.count], total=len(shown))

    def restrict(self, query: Query) -> Query:
        """``query`` with the caller's search restrictions ANDed in.

        Raises:
            Forbidden: a type of the query may not be searched, or a search over several
                types would need restrictions (patient or constrained scopes: name one type).
        """
        per_type = {t: search_restrictions(self._caller, t) for t in query.resource_types}
        restricted = {t: r for t, r in per_type.items() if r is not None}
        if not restricted:
            return query
        if len(query.resource_types) > 1:
            raise Forbidden(
                "with these scopes, search one resource type at a time",
                code="smart-out-of-compartment",
            )
        [(resource_type, restrictions)] = restricted.items()
        guard = AnyOf(tuple(self._term(resource_type, r) for r in restrictions))
        return replace(query, where=AllOf((*query.where.terms, guard)))

    def _open(self, resource_type: str, interaction: Interaction) -> bool:
        """True when every resource of the type is allowed: no content check is needed."""
        return self._caller.unrestricted or (
            search_restrictions(self._caller, resource_type, interaction) is None
        )

    def _term(self, resource_type: str, restriction: Restriction) -> Term:
        terms: list[Term] = []
        if restriction.compartment is not None:
            patient = self._caller.patient_id
            terms.append(
                AnyOf(
                    tuple(
                        TokenMatch("_id", None, patient)
                        if param == "_id"
                        else RefMatch(param, "Patient", patient)
                        for param in restriction.compartment
                    )
                )
            )
        if restriction.constraints:
            terms.extend(self._constraint_query(resource_type, restriction.constraints).terms)
        return AllOf(tuple(terms))

    def _constraint_query(self, resource_type: str, constraints: Constraints) -> AllOf:
        query, _ = self._inner.parse([resource_type], list(constraints), strict=True)
        return query.where

    def _matches_constraints(self, resource: dict[str, Any], constraints: Constraints) -> bool:
        where = self._constraint_query(resource.get("resourceType", ""), constraints)
        return matches(resource, where, default_registry())

    def _visible(self, version: StoredVersion) -> bool:
        if self._caller.unrestricted:
            return True
        return visible(self._caller, version.resource(), matcher=self._matches_constraints)

    def _visible_version(self, version: StoredVersion) -> bool:
        if not version.deleted:
            return self._visible(version)
        return self._was_visible(version.resource_type, version.id, version.version_id)

    def _was_visible(self, resource_type: str, id: str, before: int | None) -> bool:
        """Whether the last content at or before version ``before`` is visible.

        ``before`` None means the current version. This decides whether a deletion may be
        shown (410, a history entry) or must look like nothing (404).
        """
        store = self._inner.store
        current = store.read(resource_type, id)
        if current is None:
            return False
        for version_id in range(min(before or current.version_id, current.version_id), 0, -1):
            version = store.vread(resource_type, id, version_id)
            if version is not None and not version.deleted:
                return self._visible(version)
        return False

    def _shown(self, version: StoredVersion) -> StoredVersion:
        if not self._visible(version):
            raise Forbidden(_HIDDEN, code="smart-out-of-compartment")
        return version

    def _allow_content(self, interaction: Interaction, resource: dict[str, Any]) -> None:
        authorize_content(self._caller, interaction, resource, matcher=self._matches_constraints)

    def _allow_new(self, interaction: Interaction, resource: Any, resource_type: str) -> None:
        authorize(self._caller, interaction, resource_type)
        if isinstance(resource, dict):
            self._allow_content(interaction, {**resource, "resourceType": resource_type})

    def _allow_current(
        self, tx: ResourceService, resource_type: str, id: str, interaction: Interaction
    ) -> None:
        current = tx.store.read(resource_type, id)
        if current is not None and not current.deleted:
            self._allow_content(interaction, current.resource())

    def _allow_matches(
        self, tx: ResourceService, resource_type: str, condition: Params, interaction: Interaction
    ) -> None:
        if not condition:
            return
        query, _ = tx.parse([resource_type], condition, strict=True)
        page = tx.search(Query(query.resource_types, query.where, count=2, total="none"))
        for version in page.entries:
            if interaction == "read":
                self._shown(version)
            else:
                self._allow_content(interaction, version.resource())

    def _allow_history(self, query: HistoryQuery) -> None:
        if query.resource_type is None:
            if not self._caller.unrestricted and not any(
                "s" in s.permissions for s in self._caller.scopes
            ):
                raise Forbidden(
                    "no granted scope permits system history", code="insufficient_scope"
                )
            return
        level: Level = "instance" if query.id is not None else "type"
        authorize(self._caller, "history", query.resource_type, level=level)
        hidden = query.id is not None and not self._open(query.resource_type, "read")
        if hidden and not self._was_visible(query.resource_type, str(query.id), None):
            raise NotFound(f"{query.resource_type}/{query.id} is not known")


def _unknown_id(resource_type: str, id: str) -> NotFound:
    """What ``ResourceService.read`` raises for an id that does not exist."""
    return NotFound(f"{resource_type}/{id} is not known", code="unknown-id")


def _no_version(resource_type: str, id: str, version_id: str) -> NotFound:
    """What ``ResourceService.vread`` raises for a version that does not exist."""
    return NotFound(f"{resource_type}/{id} has no version {version_id}")
