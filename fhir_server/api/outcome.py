"""OperationOutcome resources. https://hl7.org/fhir/R4/operationoutcome.html"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir_server.errors import Issue

DETAILS_SYSTEM = "urn:fhir-server:issue-code"


def issue_json(issue: Issue) -> dict[str, Any]:
    """One issue as FHIR JSON."""
    out: dict[str, Any] = {"severity": issue.severity, "code": issue.code}
    if issue.details_code:
        out["details"] = {"coding": [{"system": DETAILS_SYSTEM, "code": issue.details_code}]}
    if issue.diagnostics:
        out["diagnostics"] = issue.diagnostics
    if issue.expression:
        out["expression"] = list(issue.expression)
    return out


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An OperationOutcome holding ``issues`` (an informational one when there are none)."""
    rendered = [issue_json(i) for i in issues]
    if not rendered:
        rendered = [{"severity": "information", "code": "informational", "diagnostics": "OK"}]
    return {"resourceType": "OperationOutcome", "issue": rendered}
