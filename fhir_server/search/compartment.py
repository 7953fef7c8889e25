"""The Patient compartment: which parameters link a resource to its patient.

https://hl7.org/fhir/R4/compartmentdefinition-patient.html. Compartment search
(``GET Patient/1/Observation``) and SMART ``patient/`` scopes restrict a search to the
resources whose listed parameters refer to the patient (any one of them).
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import Any

from conformance.definitions import patient_compartment
from fhir_server.search.ir import AnyOf, IsResource, RefMatch, Term


@cache
def _params_by_type() -> MappingProxyType[str, tuple[str, ...]]:
    definition: dict[str, Any] = patient_compartment()
    return MappingProxyType(
        {entry["code"]: tuple(entry.get("param", ())) for entry in definition.get("resource", ())}
    )


def patient_compartment_params(resource_type: str) -> tuple[str, ...]:
    """The parameters of ``resource_type`` that place it in a Patient's compartment.

    Empty when the type is not in the compartment. For ``Patient`` itself this is
    ``("link",)``; the patient's own id is part of its compartment as well.
    """
    return _params_by_type().get(resource_type, ())


def patient_compartment_types() -> tuple[str, ...]:
    """Every resource type that has a place in the Patient compartment, sorted."""
    return tuple(sorted(t for t, params in _params_by_type().items() if params))


def patient_compartment_term(resource_types: tuple[str, ...], patient_id: str) -> Term:
    """The filter restricting a search of ``resource_types`` to one patient's compartment.

    A resource is in the compartment when any of its type's compartment parameters refers
    to ``Patient/<patient_id>``; the Patient itself is in its own compartment.
    """
    params = sorted({p for t in resource_types for p in patient_compartment_params(t)})
    terms: list[Term] = [RefMatch(p, "Patient", patient_id) for p in params]
    if "Patient" in resource_types:
        terms.append(IsResource("Patient", patient_id))
    return AnyOf(tuple(terms))
