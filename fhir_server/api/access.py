"""Who is calling: the ``Caller`` of a request, and the resource service bound to it.

https://hl7.org/fhir/smart-app-launch/app-launch.html#access-protected-resources

With auth off the caller is ``Caller.anonymous()`` and the plain service is used. With auth
on, the ``Authorization: Bearer`` access token is validated once per request (401 when it
is missing, invalid, expired or revoked) and every interaction goes through
``GuardedService`` (403 when the scopes do not allow it).
"""

from __future__ import annotations

from fastapi import Request

from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.guard import GuardedService
from fhir_server.auth.policy import Caller
from fhir_server.core.resources import ResourceService


def caller_of(request: Request, auth: SmartAuthServer | None) -> Caller:
    """The request's caller, resolved once and remembered on ``request.state``.

    Raises:
        Unauthorized: auth is on and the request carries no valid access token.
    """
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    caller = (
        Caller.anonymous() if auth is None else auth.caller(request.headers.get("authorization"))
    )
    request.state.caller = caller
    return caller


def bind(service: ResourceService, caller: Caller) -> ResourceService:
    """The service as ``caller`` may use it."""
    return service if caller.unrestricted else GuardedService(service, caller)
