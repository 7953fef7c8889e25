"""The authorization endpoint: plain HTML login, patient picker and consent pages.

https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code

``GET`` (or ``POST``, capability ``authorize-post``) ``/auth/authorize`` validates the request
and shows the login form. Each form posts back the opaque transaction id ``txn``; the same
id is set in an HttpOnly, SameSite=Lax cookie when the transaction starts, and a form whose
``txn`` does not equal the cookie is refused, so a transaction cannot be driven from another
browser or a cross-site form. Errors before the redirect URI is verified are shown as a
page, never redirected (RFC 6749 section 4.1.2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fhir_server.api.routes.auth import auth_server
from fhir_server.auth.authorization import PendingAuthorization
from fhir_server.auth.flows import SmartAuthServer
from fhir_server.errors import FhirError, InvalidRequest, Unauthorized

router = APIRouter()

COOKIE = "fhir_server_txn"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>"""
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = _PAGE.format(title=escape(title), body=body)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _error_page(exc: FhirError) -> HTMLResponse:
    return _page("Authorization failed", f"<p>{escape(exc.diagnostics)}</p>", 400)


def _login_page(pending: PendingAuthorization, error: str = "", status: int = 200) -> HTMLResponse:
    notice = f'<p role="alert">{escape(error)}</p>' if error else ""
    body = f"""{notice}<p>{escape(pending.client_name)} asks to access your health data.</p>
<form method="post" action="authorize">
<input type="hidden" name="txn" value="{escape(pending.txn)}">
<input type="hidden" name="action" value="login">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">Log in</button></form>"""
    return _page("Log in", body, status)


def _consent_page(pending: PendingAuthorization, error: str = "") -> HTMLResponse:
    notice = f'<p role="alert">{escape(error)}</p>' if error else ""
    scopes = "".join(
        f'<li><label><input type="checkbox" name="scope" value="{escape(s)}" checked>'
        f" {escape(s)}</label></li>"
        for s in pending.scope.split()
    )
    picker = ""
    if pending.needs_patient and len(pending.patient_choices) > 1:
        options = "".join(
            f'<li><label><input type="radio" name="patient" value="{escape(p)}" required>'
            f" Patient/{escape(p)}</label></li>"
            for p in pending.patient_choices
        )
        picker = f"<fieldset><legend>Patient</legend><ul>{options}</ul></fieldset>"
    body = f"""{notice}<p>{escape(pending.client_name)} asks for:</p>
<form method="post" action="authorize">
<input type="hidden" name="txn" value="{escape(pending.txn)}">
{picker}<fieldset><legend>Access</legend><ul>{scopes}</ul></fieldset>
<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></form>"""
    return _page("Allow access?", body)


def _begin(auth: SmartAuthServer, params: Mapping[str, str]) -> Response:
    try:
        decision = auth.authorize_request(params)
    except FhirError as exc:
        return _error_page(exc)
    if decision.redirect_to is not None:
        return RedirectResponse(decision.redirect_to, status_code=302)
    assert decision.pending is not None
    response = _login_page(decision.pending)
    response.set_cookie(
        COOKIE,
        decision.pending.txn,
        httponly=True,
        samesite="lax",
        path="/auth",
        secure=auth.config.issuer.startswith("https://"),
    )
    return response


@router.get("/auth/authorize")
def authorize(request: Request) -> Response:
    """Start an authorization (the app's redirect lands here)."""
    return _begin(auth_server(request), dict(request.query_params))


@router.post("/auth/authorize")
async def authorize_post(request: Request) -> Response:
    """Start an authorization by POST, or advance one: login, consent, patient pick."""
    auth = auth_server(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if "txn" not in fields:
        return _begin(auth, fields)
    txn = fields["txn"]
    if request.cookies.get(COOKIE) != txn:
        return _error_page(InvalidRequest("this form does not belong to your browser session"))
    try:
        if fields.get("action") == "login":
            return _login(auth, txn, fields)
        if fields.get("action") == "deny":
            return RedirectResponse(auth.deny(txn), status_code=303)
        if fields.get("action") == "approve":
            scopes = [v for k, v in form.multi_items() if k == "scope" and isinstance(v, str)]
            return _approve(auth, txn, scopes, fields.get("patient"))
    except FhirError as exc:
        return _error_page(exc)
    return _error_page(InvalidRequest("unknown action"))


def _login(auth: SmartAuthServer, txn: str, fields: Mapping[str, str]) -> Response:
    try:
        pending = auth.login(txn, fields.get("username", ""), fields.get("password", ""))
    except Unauthorized:
        return _login_page(auth.pending(txn), "Wrong username or password.", 401)
    return _consent_page(pending)


def _approve(auth: SmartAuthServer, txn: str, scopes: list[str], patient: str | None) -> Response:
    try:
        url = auth.issue_code(txn, scopes=scopes, patient=patient or None)
    except InvalidRequest as exc:
        if exc.code != "patient-required":
            raise
        return _consent_page(auth.pending(txn), "Pick a patient.")
    response = RedirectResponse(url, status_code=303)
    response.delete_cookie(COOKIE, path="/auth")
    return response
