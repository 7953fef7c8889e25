"""Per-application state the routes use, and per-request helpers (base URL, render options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from fhir_server.api.access import bind, caller_of
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.policy import Caller
from fhir_server.core.resources import ResourceService
from fhir_server.settings import Settings


@dataclass(slots=True)
class AppContext:
    """What the composition root hands to the routes."""

    settings: Settings
    service: ResourceService
    capability: dict[str, Any]
    auth: SmartAuthServer | None = None


def app_context(request: Request) -> AppContext:
    """The AppContext of the running application."""
    context: AppContext = request.app.state.context
    return context


def service_for(request: Request) -> ResourceService:
    """The resource service every FHIR interaction of this request goes through.

    This is the one seam where the access policy binds the caller to the service: with auth
    on, a service guarded for the request's bearer token (401 without a valid one).
    """
    context = app_context(request)
    return bind(context.service, caller_of(request, context.auth))


def require_caller(request: Request) -> Caller:
    """Dependency of every FHIR router: 401 before anything else without a valid token."""
    return caller_of(request, app_context(request).auth)


def fhir_base(request: Request) -> str:
    """The FHIR base URL (configured, or derived from the request)."""
    configured = app_context(request).settings.base_url
    if configured:
        return configured.rstrip("/")
    return f"{str(request.base_url).rstrip('/')}/fhir"


def is_pretty(request: Request) -> bool:
    """True when ``_pretty=true`` was asked for."""
    return request.query_params.get("_pretty", "").lower() == "true"
