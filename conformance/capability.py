"""The server's CapabilityStatement, generated from what it really supports.

https://hl7.org/fhir/R4/capabilitystatement.html
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conformance.definitions import FHIR_VERSION, resource_types

TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")

OPERATION_BASE = "http://hl7.org/fhir/OperationDefinition/"
TYPE_OPERATIONS = {
    "CodeSystem": ("lookup", "validate-code"),
    "ValueSet": ("expand", "validate-code"),
    "ConceptMap": ("translate",),
    "Patient": ("everything",),
}
"""The R4 type operations served (``fhir_server/api/routes/terminology.py`` and
``compartment.py``)."""

SearchParams = Callable[[str], Sequence[dict[str, str]]]
Includes = Callable[[str], Sequence[str]]
PATIENT_COMPARTMENT = "http://hl7.org/fhir/CompartmentDefinition/patient"


def _resource(
    resource_type: str, search_params: SearchParams, includes: Includes, revincludes: Includes
) -> dict[str, Any]:
    return {
        "type": resource_type,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{resource_type}",
        "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "full-support",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "referencePolicy": ["literal", "logical"],
        "searchInclude": list(includes(resource_type)),
        "searchRevInclude": list(revincludes(resource_type)),
        "searchParam": list(search_params(resource_type)),
        "operation": [
            {"name": "validate", "definition": f"{OPERATION_BASE}Resource-validate"},
            *(
                {"name": name, "definition": f"{OPERATION_BASE}{resource_type}-{name}"}
                for name in TYPE_OPERATIONS.get(resource_type, ())
            ),
        ],
    }


def capability_statement(
    *,
    software_version: str,
    base_url: str | None,
    search_params: SearchParams,
    includes: Includes = lambda _type: (),
    revincludes: Includes = lambda _type: (),
    security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the CapabilityStatement; ``security`` is the rest.security element, if any.

    ``search_params``, ``includes`` and ``revincludes`` give, per resource type, the
    ``searchParam``, ``searchInclude`` and ``searchRevInclude`` the server really supports.
    """
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "JSON only: XML requests get 406 Not Acceptable / 415.",
        "resource": [
            _resource(t, search_params, includes, revincludes) for t in sorted(resource_types())
        ],
        "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
        "compartment": [PATIENT_COMPARTMENT],
    }
    if security is not None:
        rest["security"] = security
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "fhir-server project",
        "kind": "instance",
        "software": {"name": "fhir-server", "version": software_version},
        "implementation": {"description": "FHIR R4 server for the Internet of Medical Things"},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "patchFormat": [
            "application/json-patch+json",
            "application/fhir+json",
            "application/merge-patch+json",
        ],
        "rest": [rest],
    }
    if base_url:
        statement["implementation"]["url"] = base_url
    return statement
