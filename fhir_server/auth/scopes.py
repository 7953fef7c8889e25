"""SMART scopes: parsing (v1 and v2 syntax) and downgrade on grant.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html

* v2: ``<patient|user|system>/<Type|*>.<cruds>[?param=value&...]``, the permission letters
  a non-empty subsequence of ``c r u d s`` in that order (``patient/Observation.rs``,
  ``patient/Observation.rs?category=vital-signs``).
* v1: ``.read`` (= ``rs``), ``.write`` (= ``cud``), ``.*`` (= ``cruds``); no query constraints.
* anything else (``openid``, ``fhirUser``, ``launch/patient``, ``offline_access``, ...) is a
  plain scope name, granted only when the client is allowed it by name.

A granted resource scope keeps the syntax it was asked in where it still can, so a v1 client
asking for ``patient/Observation.read`` gets ``patient/Observation.read`` back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, cast
from urllib.parse import parse_qsl, urlencode

from conformance.definitions import resource_types
from fhir_server.errors import InvalidRequest

Context = Literal["patient", "user", "system"]
PERMISSIONS = "cruds"
LAUNCH_SCOPES = frozenset(
    {"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter"}
    | {"offline_access", "online_access"}
)

ADMIN_LAUNCH = "admin/launch"
"""May create EHR launch values (``POST /auth/launch``)."""
ADMIN_INGEST = "admin/ingest"
"""May list, show and replay ingestion dead letters (``/ingest/dead-letters...``)."""
ADMIN_SCOPES = frozenset({ADMIN_LAUNCH, ADMIN_INGEST})
"""Plain scopes only a confidential client allowed them by name gets, by client_credentials."""

_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_V1_NAMES = {frozenset(letters): name for name, letters in _V1.items()}
_RESOURCE_SCOPE = re.compile(r"(patient|user|system)/([A-Za-z]+|\*)\.([a-z]+|\*)(?:\?(.+))?")
_V2_LETTERS = re.compile(r"c?r?u?d?s?")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@dataclass(frozen=True, slots=True)
class Scope:
    """One resource scope.

    Attributes:
        context: ``patient`` (the launch patient's compartment), ``user`` or ``system``.
        resource_type: a resource type, or ``*`` for every type.
        permissions: a subset of ``c r u d s``.
        constraints: v2 query constraints, sorted (search parameters to AND into queries).
        v1: asked in v1 syntax; only affects how the scope is written back.
    """

    context: Context
    resource_type: str
    permissions: frozenset[str]
    constraints: tuple[tuple[str, str], ...] = ()
    v1: bool = field(default=False, compare=False)

    def applies_to(self, resource_type: str) -> bool:
        """True when this scope covers ``resource_type``."""
        return self.resource_type in ("*", resource_type)

    def __str__(self) -> str:
        """The scope in SMART syntax."""
        name = _V1_NAMES.get(self.permissions) if self.v1 and not self.constraints else None
        letters = name or "".join(p for p in PERMISSIONS if p in self.permissions)
        query = f"?{urlencode(self.constraints, safe=':/|,')}" if self.constraints else ""
        return f"{self.context}/{self.resource_type}.{letters}{query}"


@dataclass(frozen=True, slots=True)
class ScopeSet:
    """A parsed ``scope`` parameter.

    Attributes:
        resources: the resource scopes, without duplicates.
        names: every other scope (``openid``, ``launch/patient``, ``offline_access``, ...).
    """

    resources: tuple[Scope, ...] = ()
    names: frozenset[str] = frozenset()

    def __str__(self) -> str:
        """The space-separated ``scope`` value."""
        return " ".join([*(str(s) for s in self.resources), *sorted(self.names)])

    def has(self, name: str) -> bool:
        """True when the plain scope ``name`` is in the set."""
        return name in self.names

    def covers(self, other: ScopeSet) -> bool:
        """True when every scope of ``other`` is within this set (no escalation)."""
        return other.names <= self.names and all(
            any(_subsumes(mine, theirs) for mine in self.resources) for theirs in other.resources
        )

    def without(self, *names: str, context: Context | None = None) -> ScopeSet:
        """This set minus the plain scopes ``names`` and every resource scope of ``context``."""
        kept = tuple(s for s in self.resources if s.context != context)
        return ScopeSet(kept, self.names - set(names))


def parse_scope(token: str) -> Scope | str:
    """Parse one scope: a ``Scope`` for a resource scope, else the plain name.

    Raises:
        InvalidRequest: ``invalid_scope`` when the scope is malformed.
    """
    if not _SCOPE_TOKEN.fullmatch(token):
        raise _invalid(token, "contains characters a scope may not hold")
    if not token.startswith(("patient/", "user/", "system/")):
        return token
    match = _RESOURCE_SCOPE.fullmatch(token)
    if match is None:
        raise _invalid(token, "is not <patient|user|system>/<type>.<permissions>")
    context, resource_type, letters, query = match.groups()
    if resource_type != "*" and resource_type not in resource_types():
        raise _invalid(token, f"names an unknown resource type {resource_type!r}")
    v1 = letters in _V1
    if v1 and query:
        raise _invalid(token, "uses query constraints, which need v2 permissions (.rs, ...)")
    if not v1 and not _V2_LETTERS.fullmatch(letters):
        raise _invalid(token, "has permissions other than c, r, u, d, s in that order")
    return Scope(
        cast(Context, context),
        resource_type,
        frozenset(_V1.get(letters, letters)),
        _constraints(token, query),
        v1=v1,
    )


def parse_scopes(text: str) -> ScopeSet:
    """Parse a space-separated ``scope`` parameter.

    Raises:
        InvalidRequest: ``invalid_scope`` when any scope is malformed.
    """
    resources: list[Scope] = []
    names: set[str] = set()
    for token in text.split():
        parsed = parse_scope(token)
        if isinstance(parsed, Scope):
            resources.append(parsed)
        else:
            names.add(parsed)
    return ScopeSet(tuple(dict.fromkeys(resources)), frozenset(names))


def grant(requested: ScopeSet, allowed: ScopeSet) -> ScopeSet:
    """Downgrade ``requested`` to what ``allowed`` permits.

    Each requested resource scope is intersected with each allowed one (same context; a
    wildcard type narrows to the other's type; permissions intersect; query constraints of
    both apply). Plain scopes are kept only when allowed by name. Scopes covered by a broader
    granted scope are dropped, so ``patient/*.cruds`` against ``patient/Observation.rs``
    grants exactly ``patient/Observation.rs``.
    """
    granted = [
        both
        for asked in requested.resources
        for permitted in allowed.resources
        if (both := _intersect(asked, permitted)) is not None
    ]
    return ScopeSet(_minimal(granted), requested.names & allowed.names)


def _intersect(asked: Scope, permitted: Scope) -> Scope | None:
    if asked.context != permitted.context:
        return None
    if asked.resource_type == "*":
        resource_type = permitted.resource_type
    elif permitted.applies_to(asked.resource_type):
        resource_type = asked.resource_type
    else:
        return None
    permissions = asked.permissions & permitted.permissions
    if not permissions:
        return None
    constraints = tuple(sorted({*asked.constraints, *permitted.constraints}))
    return Scope(asked.context, resource_type, permissions, constraints, v1=asked.v1)


def _minimal(scopes: list[Scope]) -> tuple[Scope, ...]:
    unique = list(dict.fromkeys(scopes))
    return tuple(s for s in unique if not any(t != s and _subsumes(t, s) for t in unique))


def _subsumes(broad: Scope, narrow: Scope) -> bool:
    return (
        broad.context == narrow.context
        and broad.applies_to(narrow.resource_type)
        and broad.permissions >= narrow.permissions
        and set(broad.constraints) <= set(narrow.constraints)
    )


def _constraints(token: str, query: str | None) -> tuple[tuple[str, str], ...]:
    if not query:
        return ()
    try:
        pairs = parse_qsl(query, keep_blank_values=False, strict_parsing=True)
    except ValueError as exc:
        raise _invalid(token, "has a malformed query constraint") from exc
    return tuple(sorted(set(pairs)))


def _invalid(token: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"scope {token!r} {why}", code="invalid_scope")
