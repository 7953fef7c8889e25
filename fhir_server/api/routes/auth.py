"""OAuth 2 endpoints of the SMART authorization server (JSON; errors per RFC 6749).

https://hl7.org/fhir/smart-app-launch/app-launch.html and
https://hl7.org/fhir/smart-app-launch/backend-services.html

* ``POST /auth/token``: RFC 6749 section 5 (``Cache-Control: no-store``).
* ``POST /auth/introspect``: RFC 7662. ``POST /auth/revoke``: RFC 7009.
* ``GET /auth/jwks``: our public signing keys.
* ``GET /fhir/.well-known/smart-configuration`` (and at the root): discovery, public.
* ``POST /auth/launch``: an EHR launch value; the caller's access token must carry the
  ``admin/launch`` scope (a backend client registered with it, via client_credentials).
  ``fhir-server auth create-launch`` does the same from the command line.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from fhir_server.api.context import app_context
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.auth.policy import authorize_admin
from fhir_server.auth.scopes import ADMIN_LAUNCH
from fhir_server.errors import FhirError, InvalidRequest, NotFound, Unauthorized

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_token_type",
    }
)


def auth_server(request: Request) -> SmartAuthServer:
    """The application's authorization server (404 when auth is off)."""
    auth = app_context(request).auth
    if auth is None:
        raise NotFound("authorization is turned off on this server", code="auth-off")
    return auth


def oauth_error(exc: FhirError, request: Request) -> JSONResponse:
    """An RFC 6749 section 5.2 error response for ``exc``."""
    error = exc.code if exc.code in OAUTH_ERRORS else "invalid_request"
    if isinstance(exc, Unauthorized):
        error = "invalid_client"
    headers = dict(NO_STORE)
    status = 401 if error == "invalid_client" else 400
    if status == 401:
        scheme = "Basic" if _uses_basic(request) else "Bearer"
        headers["WWW-Authenticate"] = f'{scheme} realm="auth"'
    body = {"error": error, "error_description": exc.diagnostics}
    return JSONResponse(body, status_code=status, headers=headers)


def _uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("basic ")


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidRequest("send the parameters as application/x-www-form-urlencoded")
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


@router.post("/auth/token")
async def token(request: Request) -> Response:
    """Exchange a code or refresh token, or run client_credentials."""
    try:
        answer = auth_server(request).token(
            await _form(request), request.headers.get("authorization")
        )
    except FhirError as exc:
        return oauth_error(exc, request)
    return JSONResponse(answer.to_json(), headers=NO_STORE)


@router.post("/auth/introspect")
async def introspect(request: Request) -> Response:
    """RFC 7662 token introspection."""
    try:
        form = await _form(request)
        if not form.get("token"):
            raise InvalidRequest("token is required")
        answer = auth_server(request).introspect(
            form["token"], form, request.headers.get("authorization")
        )
    except FhirError as exc:
        return oauth_error(exc, request)
    return JSONResponse(answer, headers=NO_STORE)


@router.post("/auth/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009 token revocation: 200 with an empty body, also for unknown tokens."""
    try:
        auth_server(request).revoke(await _form(request), request.headers.get("authorization"))
    except FhirError as exc:
        return oauth_error(exc, request)
    return Response(status_code=200, headers=NO_STORE)


@router.get("/auth/jwks")
def jwks(request: Request) -> Response:
    """Our public signing keys (old keys stay until the tokens they signed expire)."""
    return JSONResponse(auth_server(request).jwks())


@router.get("/fhir/.well-known/smart-configuration")
@router.get("/.well-known/smart-configuration")
def smart_configuration(request: Request) -> Response:
    """SMART discovery (public)."""
    return JSONResponse(auth_server(request).smart_configuration())


@router.post("/auth/launch")
async def create_launch(request: Request) -> Response:
    """Create an EHR launch; the bearer token must carry ``admin/launch``."""
    auth = auth_server(request)
    authorize_admin(auth.caller(request.headers.get("authorization")), ADMIN_LAUNCH)
    form = await _form(request)
    if not form.get("patient"):
        raise InvalidRequest("patient is required")
    launch = auth.create_launch(
        form["patient"], form.get("encounter") or None, client_id=form.get("client_id") or None
    )
    body: dict[str, Any] = {"launch": launch, "patient": form["patient"]}
    if form.get("encounter"):
        body["encounter"] = form["encounter"]
    return JSONResponse(body, status_code=201, headers=NO_STORE)
