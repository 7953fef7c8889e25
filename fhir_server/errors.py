"""The error hierarchy: every client-visible failure is one of these.

Each class carries its HTTP status and OperationOutcome ``issue.code``
(http://hl7.org/fhir/R4/valueset-issue-type.html); one handler in ``api/errors.py``
renders them, so no code path chooses a status by hand::

    FhirError (500 exception)
    ├── InvalidRequest (400 invalid)
    │   ├── TooCostly (400 too-costly)
    │   └── UnsupportedParameter (400 not-supported)
    ├── Unauthorized (401 login)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not-found)
    ├── MethodNotAllowed (405 not-supported)
    ├── NotAcceptable (406 not-supported)
    ├── Conflict (409 conflict)
    │   └── VersionConflict (409 conflict)
    ├── Gone (410 deleted)
    ├── PreconditionFailed (412 conflict)
    ├── PayloadTooLarge (413 too-long)
    ├── UnsupportedMediaType (415 not-supported)
    ├── Unprocessable (422 processing)
    ├── StorageUnavailable (503 transient)
    └── ServerFault (500 exception)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome issue.

    Attributes:
        severity: fatal | error | warning | information.
        code: an issue-type code.
        diagnostics: human-readable text.
        expression: FHIRPath locations of the problem.
        details_code: a stable, machine-readable code for the problem.
    """

    severity: str
    code: str
    diagnostics: str
    expression: tuple[str, ...] = field(default_factory=tuple)
    details_code: str | None = None


class FhirError(Exception):
    """Base of every error that becomes an OperationOutcome."""

    status: ClassVar[int] = 500
    issue_type: ClassVar[str] = "exception"

    def __init__(
        self,
        diagnostics: str,
        *,
        code: str | None = None,
        expression: Sequence[str] = (),
        issues: Sequence[Issue] = (),
    ) -> None:
        """Create an error.

        Args:
            diagnostics: what went wrong, for a human.
            code: a stable kebab-case code (``details.coding.code``).
            expression: FHIRPath locations of the problem.
            issues: further issues to report together (e.g. every validation failure).
        """
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.code = code
        self.expression = tuple(expression)
        self.extra_issues = tuple(issues)

    def issues(self) -> tuple[Issue, ...]:
        """All issues this error reports, the first one built from the error itself."""
        if self.extra_issues and not self.diagnostics:
            return self.extra_issues
        head = Issue("error", self.issue_type, self.diagnostics, self.expression, self.code)
        return (head, *self.extra_issues)


class InvalidRequest(FhirError):
    """The request is malformed (400)."""

    status = 400
    issue_type = "invalid"


class TooCostly(InvalidRequest):
    """The request would cost too much to answer (400)."""

    issue_type = "too-costly"


class UnsupportedParameter(InvalidRequest):
    """A parameter is unknown or unsupported and strict handling was asked for (400)."""

    issue_type = "not-supported"


class Unauthorized(FhirError):
    """No or invalid credentials (401)."""

    status = 401
    issue_type = "login"


class Forbidden(FhirError):
    """Credentials do not allow this interaction (403)."""

    status = 403
    issue_type = "forbidden"


class NotFound(FhirError):
    """Unknown resource type, id or version (404)."""

    status = 404
    issue_type = "not-found"


class MethodNotAllowed(FhirError):
    """The HTTP method is not allowed here (405)."""

    status = 405
    issue_type = "not-supported"


class NotAcceptable(FhirError):
    """No representation the client accepts can be produced (406)."""

    status = 406
    issue_type = "not-supported"


class Conflict(FhirError):
    """The request conflicts with the current state (409)."""

    status = 409
    issue_type = "conflict"


class VersionConflict(Conflict):
    """The resource changed since the version the write was based on (409)."""


class Gone(FhirError):
    """The resource was deleted (410)."""

    status = 410
    issue_type = "deleted"


class PreconditionFailed(FhirError):
    """A precondition (If-Match, conditional match count) failed (412)."""

    status = 412
    issue_type = "conflict"


class PayloadTooLarge(FhirError):
    """The request body is over the configured limit (413)."""

    status = 413
    issue_type = "too-long"


class UnsupportedMediaType(FhirError):
    """The request body's media type is not supported (415)."""

    status = 415
    issue_type = "not-supported"


class Unprocessable(FhirError):
    """The resource is well-formed but violates a rule (422)."""

    status = 422
    issue_type = "processing"


class StorageUnavailable(FhirError):
    """The database cannot be reached or is not usable right now (503)."""

    status = 503
    issue_type = "transient"


class ServerFault(FhirError):
    """An unexpected failure inside the server (500)."""

    status = 500
    issue_type = "exception"
