"""One funnel from exceptions to OperationOutcome responses."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from fhir_server.api.outcome import operation_outcome
from fhir_server.api.responses import json_response
from fhir_server.auth.policy import InsufficientScope
from fhir_server.errors import FhirError, Issue

log = logging.getLogger("fhir_server")

_HTTP_ISSUE = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-long"}
_NOT_QUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
"""Characters RFC 6750 section 3 does not allow in ``error_description`` or ``scope``."""


def bearer_challenge(exc: FhirError) -> str | None:
    """The RFC 6750 ``WWW-Authenticate`` value for a 401 or an insufficient-scope 403.

    No token: just ``Bearer realm="fhir"``. A rejected token: ``error="invalid_token"``.
    A missing scope: ``error="insufficient_scope"`` and the needed ``scope`` when known.
    """
    params = ['realm="fhir"']
    if exc.status == 401 and exc.code == "invalid_token":
        params.append('error="invalid_token"')
    elif exc.status == 403 and isinstance(exc, InsufficientScope):
        params.append('error="insufficient_scope"')
    elif exc.status != 401:
        return None
    if len(params) > 1:
        params.append(f'error_description="{_NOT_QUOTABLE.sub("?", exc.diagnostics)}"')
    if isinstance(exc, InsufficientScope) and exc.scope:
        params.append(f'scope="{_NOT_QUOTABLE.sub("?", exc.scope)}"')
    return "Bearer " + ", ".join(params)


async def on_fhir_error(_request: Request, exc: Exception) -> Response:
    """Render a FhirError with its own status (and an RFC 6750 challenge for auth errors)."""
    assert isinstance(exc, FhirError)
    challenge = bearer_challenge(exc)
    headers = {"WWW-Authenticate": challenge} if challenge else None
    return json_response(operation_outcome(exc.issues()), exc.status, headers=headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Render Starlette's own errors (unknown path, wrong method) as OperationOutcomes."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_ISSUE.get(exc.status_code, "processing")
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    outcome = operation_outcome([Issue("error", code, detail)])
    return json_response(outcome, exc.status_code, headers=dict(exc.headers or {}))


async def on_validation_error(_request: Request, exc: Exception) -> Response:
    """Render FastAPI request validation errors (never ``{"detail": ...}``)."""
    assert isinstance(exc, RequestValidationError)
    issues = [
        Issue("error", "invalid", str(err.get("msg")), (".".join(map(str, err.get("loc", ()))),))
        for err in exc.errors()
    ]
    return json_response(operation_outcome(issues), 400)


async def on_unexpected(request: Request, _exc: Exception) -> Response:
    """Log the failure and answer 500 without leaking a stack trace."""
    log.exception("unexpected failure on %s %s", request.method, request.url.path)
    issue = Issue("fatal", "exception", "Internal server error; the failure has been logged")
    return json_response(operation_outcome([issue]), 500)


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(FhirError, on_fhir_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
