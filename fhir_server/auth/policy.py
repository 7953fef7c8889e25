"""The one access policy every FHIR interaction passes.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html

Interactions map to SMART v2 permissions: create ``c``; read, vread and instance history
``r``; update and patch ``u``; delete ``d``; search and type/system history ``s``;
operations ``r`` (an operation that writes also calls ``authorize`` for that write).

A ``patient/`` scope applies only with a launch patient, and only inside that patient's
compartment (R4 CompartmentDefinition): to types that are in the compartment, and to
resources that are the patient or reference them through a compartment parameter. A v2
query constraint (``patient/Observation.rs?category=vital-signs``) confines the scope to
resources that match it. Entry points:

* ``authorize``: may the caller attempt this interaction on this type at all? (403 if not)
* ``search_restrictions``: what the search layer must AND into a query so it returns only
  what the scopes allow (``patient_guard`` is its compartment-only shorthand).
* ``visible``: may this resource appear in a response (read, ``_include``, history, batch)?
* ``authorize_content``: may the caller write this resource content?
* ``authorize_admin``, ``authorize_backend``: routes outside the FHIR API (EHR launches,
  ingestion and its dead letters) that need an ``admin/`` scope or a ``system/`` scope.

Every refusal is ``Forbidden``; a missing scope is ``InsufficientScope``, which names the
scope that would allow the request where it is known (RFC 6750 section 3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fhir_server.auth.compartment import compartment_params, patient_references
from fhir_server.auth.scopes import Scope, parse_scopes
from fhir_server.auth.tokens import AccessClaims
from fhir_server.errors import Forbidden

Interaction = Literal[
    "read", "vread", "search", "history", "create", "update", "patch", "delete", "operation"
]
Level = Literal["instance", "type", "system"]
Constraints = tuple[tuple[str, str], ...]
CompartmentRefs = Callable[[dict[str, Any]], set[str]]
"""Returns ``Patient/<id>`` for each patient a resource's compartment parameters reference."""
ConstraintMatcher = Callable[[dict[str, Any], Constraints], bool]
"""True when a resource matches every search parameter of a v2 scope constraint."""

_PERMISSION: dict[str, str] = {
    "read": "r",
    "vread": "r",
    "history": "r",
    "operation": "r",
    "search": "s",
    "create": "c",
    "update": "u",
    "patch": "u",
    "delete": "d",
}
_VISIBLE = frozenset("rs")


class InsufficientScope(Forbidden):
    """403: no granted scope allows the request (RFC 6750 ``insufficient_scope``).

    Attributes:
        scope: space-separated scopes that would allow it, when known.
    """

    def __init__(self, diagnostics: str, *, scope: str | None = None) -> None:
        """Create the refusal, naming the needed ``scope`` when known."""
        super().__init__(diagnostics, code="insufficient_scope")
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as far as the policy cares.

    Attributes:
        client_id: the client the token was issued to (None when auth is off).
        scopes: the granted resource scopes.
        patient_id: the launch patient (``patient/`` scopes apply only with one).
        fhir_user: the user's FHIR resource URL.
        subject: the token's ``sub``.
        unrestricted: auth is off: every interaction is allowed.
        names: the granted plain scopes (``launch/patient``, ``admin/ingest``, ...).
    """

    client_id: str | None = None
    scopes: tuple[Scope, ...] = ()
    patient_id: str | None = None
    fhir_user: str | None = None
    subject: str | None = None
    unrestricted: bool = False
    names: frozenset[str] = frozenset()

    @classmethod
    def anonymous(cls) -> Caller:
        """The caller when the operator turned auth off (loopback only)."""
        return cls(unrestricted=True)

    @classmethod
    def from_token(cls, claims: AccessClaims) -> Caller:
        """The caller presenting a validated access token."""
        granted = parse_scopes(claims.scope)
        return cls(
            client_id=claims.client_id,
            scopes=granted.resources,
            patient_id=claims.patient,
            fhir_user=claims.fhir_user,
            subject=claims.subject,
            names=granted.names,
        )


@dataclass(frozen=True, slots=True)
class Restriction:
    """One way a caller may see resources of a type; a query matches any of them.

    Attributes:
        compartment: None, or the parameters of which at least one must reference
            ``Patient/<caller.patient_id>`` (``_id`` means: the resource's own id is the
            patient id, for the Patient type itself).
        constraints: search parameters the resource must also match (AND).
    """

    compartment: tuple[str, ...] | None
    constraints: Constraints = ()


def authorize(
    caller: Caller, interaction: Interaction, resource_type: str, *, level: Level = "instance"
) -> None:
    """Allow the interaction on the type, or raise.

    Args:
        caller: the caller.
        interaction: the FHIR interaction.
        resource_type: the resource type the interaction targets.
        level: for ``history`` only: instance history needs ``r``, type/system history ``s``.

    Raises:
        InsufficientScope: no granted scope permits it.
        Forbidden: only ``patient/`` scopes permit it and the type is outside the Patient
            compartment (code ``smart-out-of-compartment``).
    """
    _granting(caller, _permission(interaction, level), resource_type)


def authorize_admin(caller: Caller, scope: str) -> None:
    """Allow an administrative request that needs the plain scope ``scope`` (``admin/...``).

    Raises:
        InsufficientScope: the token does not carry ``scope``.
    """
    if not caller.unrestricted and scope not in caller.names:
        raise InsufficientScope(f"this request needs the {scope} scope", scope=scope)


def authorize_backend(caller: Caller) -> None:
    """Allow a request reserved to SMART Backend Services: some ``system/`` scope is needed.

    Raises:
        InsufficientScope: the token carries no ``system/`` scope (a patient or user token).
    """
    if not caller.unrestricted and not any(s.context == "system" for s in caller.scopes):
        raise InsufficientScope("this request needs a system/ scope (SMART Backend Services)")


def search_restrictions(
    caller: Caller, resource_type: str, interaction: Interaction = "search"
) -> tuple[Restriction, ...] | None:
    """What a query must match: any one of the restrictions; None means no restriction.

    Raises:
        Forbidden: as ``authorize``.
    """
    if caller.unrestricted:
        return None
    restrictions = [
        Restriction(_compartment(scope, resource_type), scope.constraints)
        for scope in _granting(caller, _permission(interaction, "type"), resource_type)
    ]
    if any(r.compartment is None and not r.constraints for r in restrictions):
        return None
    return tuple(dict.fromkeys(restrictions))


def patient_guard(
    caller: Caller, resource_type: str, interaction: Interaction = "search"
) -> tuple[str, ...] | None:
    """The compartment parameters confining a query, when every granting scope is ``patient/``.

    None when some ``user/`` or ``system/`` scope grants the interaction. This ignores v2
    query constraints: use ``search_restrictions`` where constraints can occur.

    Raises:
        Forbidden: as ``authorize``.
    """
    restrictions = search_restrictions(caller, resource_type, interaction)
    if restrictions is None or any(r.compartment is None for r in restrictions):
        return None
    return _guard_params(resource_type)


def visible(
    caller: Caller,
    resource: dict[str, Any],
    *,
    compartment_refs: CompartmentRefs | None = None,
    matcher: ConstraintMatcher | None = None,
) -> bool:
    """True when the resource may appear in a response (read, include, history, batch).

    Args:
        caller: the caller.
        resource: the resource JSON.
        compartment_refs: how to find the patients a resource references (default: walk
            the compartment parameters' element paths).
        matcher: evaluates v2 query constraints; without one, a constrained scope shows nothing.
    """
    return caller.unrestricted or _permits(caller, _VISIBLE, resource, compartment_refs, matcher)


def authorize_content(
    caller: Caller,
    interaction: Interaction,
    resource: dict[str, Any],
    *,
    compartment_refs: CompartmentRefs | None = None,
    matcher: ConstraintMatcher | None = None,
) -> None:
    """Allow writing this content (create; update/patch: check old and new; delete: old).

    Raises:
        Forbidden: as ``authorize``, or the content lies outside the patient's compartment
            or a scope constraint (code ``smart-out-of-compartment``).
    """
    if caller.unrestricted:
        return
    authorize(caller, interaction, resource.get("resourceType", ""))
    allowed = frozenset(_PERMISSION[interaction])
    if not _permits(caller, allowed, resource, compartment_refs, matcher):
        raise Forbidden(
            "the resource lies outside what the granted scopes allow",
            code="smart-out-of-compartment",
        )


def _permission(interaction: Interaction, level: Level) -> str:
    if interaction == "history" and level != "instance":
        return "s"
    return _PERMISSION[interaction]


def _granting(caller: Caller, permission: str, resource_type: str) -> list[Scope]:
    """The caller's scopes that grant ``permission`` on ``resource_type``; raises when none."""
    if caller.unrestricted:
        return []
    matching = [
        s for s in caller.scopes if permission in s.permissions and s.applies_to(resource_type)
    ]
    usable = [s for s in matching if _usable(caller, s, resource_type)]
    if usable:
        return usable
    if matching:
        raise Forbidden(
            f"{resource_type} is outside the launch patient's compartment",
            code="smart-out-of-compartment",
        )
    contexts = sorted({s.context for s in caller.scopes})
    needed = " ".join(f"{context}/{resource_type}.{permission}" for context in contexts)
    raise InsufficientScope(
        f"no granted scope permits {permission!r} on {resource_type}", scope=needed or None
    )


def _usable(caller: Caller, scope: Scope, resource_type: str) -> bool:
    if scope.context != "patient":
        return True
    return caller.patient_id is not None and bool(_guard_params(resource_type))


def _guard_params(resource_type: str) -> tuple[str, ...]:
    params = compartment_params(resource_type)
    return ("_id", *params) if resource_type == "Patient" else params


def _compartment(scope: Scope, resource_type: str) -> tuple[str, ...] | None:
    return _guard_params(resource_type) if scope.context == "patient" else None


def _permits(
    caller: Caller,
    permissions: frozenset[str],
    resource: dict[str, Any],
    compartment_refs: CompartmentRefs | None,
    matcher: ConstraintMatcher | None,
) -> bool:
    resource_type = resource.get("resourceType", "")
    for scope in caller.scopes:
        if not scope.permissions & permissions or not scope.applies_to(resource_type):
            continue
        if not _usable(caller, scope, resource_type):
            continue
        if scope.context == "patient" and not _in_compartment(caller, resource, compartment_refs):
            continue
        if scope.constraints and (matcher is None or not matcher(resource, scope.constraints)):
            continue
        return True
    return False


def _in_compartment(
    caller: Caller, resource: dict[str, Any], compartment_refs: CompartmentRefs | None
) -> bool:
    patient = f"Patient/{caller.patient_id}"
    if resource.get("resourceType") == "Patient" and resource.get("id") == caller.patient_id:
        return True
    refs = (compartment_refs or patient_references)(resource)
    return patient in refs
