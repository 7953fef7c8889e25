"""The authorization endpoint's logic: validate, log in, pick a patient, consent, issue a code.

https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code

The HTTP layer drives a small state machine kept server-side under an opaque ``txn`` id:

1. ``begin(params)`` validates the request. An unknown client or a redirect URI that is not
   registered exactly raises ``InvalidRequest`` (show an error page: never redirect to an
   unverified URI). Other errors come back as ``AuthorizeDecision.redirect_to`` (RFC 6749
   section 4.1.2.1). A valid request is stored as a ``PendingAuthorization``.
2. ``login(txn, username, password)`` attaches the authenticated user.
3. ``approve(txn, scopes, patient)`` (or ``deny``) ends the transaction and returns the
   redirect URL carrying the single-use code (or ``error=access_denied``) and ``state``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from fhir_server.auth.clients import Client, ClientRegistry
from fhir_server.auth.config import AuthConfig
from fhir_server.auth.context import Authorization, LaunchContext
from fhir_server.auth.launches import Launches
from fhir_server.auth.opaque import digest, new_token
from fhir_server.auth.ports import Clock, Document, ExpiringStore
from fhir_server.auth.scopes import ScopeSet, grant, parse_scopes
from fhir_server.auth.users import User, UserDirectory
from fhir_server.errors import FhirError, InvalidRequest, Unauthorized

CODES = "code"
_PENDING = "pending"
_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """A validated authorize request waiting for login and consent.

    Attributes:
        txn: the opaque transaction id the login and consent forms post back.
        client_id: the requesting client.
        client_name: its display name.
        redirect_uri: the verified redirect URI.
        state: the client's ``state``.
        code_challenge: the PKCE S256 challenge.
        scope: what may be granted: the request downgraded to the client's allowed scopes.
        nonce: the OpenID Connect nonce.
        launch: the EHR launch context, if the request carried a ``launch``.
        username: the logged-in user, once ``login`` succeeded.
        patient_choices: patients to offer in the picker (more than one means: show it).
    """

    txn: str
    client_id: str
    client_name: str
    redirect_uri: str
    state: str
    code_challenge: str
    scope: str
    nonce: str | None = None
    launch: LaunchContext | None = None
    username: str | None = None
    patient_choices: tuple[str, ...] = ()

    @property
    def needs_patient(self) -> bool:
        """True when the grant needs a patient context the launch did not provide."""
        scopes = parse_scopes(self.scope)
        wants = scopes.has("launch/patient") or any(
            s.context == "patient" for s in scopes.resources
        )
        return wants and (self.launch is None or self.launch.patient is None)

    def to_json(self) -> Document:
        """The stored form."""
        return {
            **{f: getattr(self, f) for f in _PLAIN_FIELDS},
            "launch": self.launch.to_json() if self.launch else None,
            "patient_choices": list(self.patient_choices),
        }

    @classmethod
    def from_json(cls, doc: Document) -> PendingAuthorization:
        """Read the stored form."""
        launch = LaunchContext.from_json(doc["launch"]) if doc["launch"] else None
        plain = {f: doc[f] for f in _PLAIN_FIELDS}
        return cls(**plain, launch=launch, patient_choices=tuple(doc["patient_choices"]))


_PLAIN_FIELDS = (
    "txn",
    "client_id",
    "client_name",
    "redirect_uri",
    "state",
    "code_challenge",
    "scope",
    "nonce",
    "username",
)


@dataclass(frozen=True, slots=True)
class AuthorizeDecision:
    """The outcome of ``begin``: go on with ``pending``, or send the browser to ``redirect_to``."""

    pending: PendingAuthorization | None = None
    redirect_to: str | None = None


class _Refusal(Exception):
    """An authorize error reported to the client by redirect."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class AuthorizationEndpoint:
    """Validates authorize requests and runs login, patient pick and consent."""

    def __init__(
        self,
        config: AuthConfig,
        clients: ClientRegistry,
        users: UserDirectory,
        launches: Launches,
        ephemeral: ExpiringStore,
        clock: Clock,
    ) -> None:
        """Create the endpoint logic."""
        self._config, self._clients, self._users = config, clients, users
        self._launches, self._ephemeral, self._clock = launches, ephemeral, clock

    def begin(self, params: Mapping[str, str]) -> AuthorizeDecision:
        """Validate an authorize request (the query of GET or the form of POST).

        Raises:
            InvalidRequest: unknown ``client_id`` or unregistered ``redirect_uri``.
        """
        client = self._client(params.get("client_id"))
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise InvalidRequest(
                "redirect_uri is not registered for this client", code="invalid_request"
            )
        state = params.get("state", "")
        try:
            pending = self._validate(client, redirect_uri, params)
        except _Refusal as refusal:
            error = {"error": refusal.error, "error_description": refusal.description}
            return AuthorizeDecision(redirect_to=_with_query(redirect_uri, error, state))
        self._save(pending)
        return AuthorizeDecision(pending=pending)

    def pending(self, txn: str) -> PendingAuthorization:
        """The pending authorization, e.g. to render the consent page again.

        Raises:
            InvalidRequest: unknown or expired ``txn``.
        """
        document = self._ephemeral.get(_PENDING, txn)
        if document is None:
            raise InvalidRequest("the authorization request expired; start again")
        return PendingAuthorization.from_json(document)

    def login(self, txn: str, username: str, password: str) -> PendingAuthorization:
        """Authenticate the user of a pending authorization.

        Raises:
            InvalidRequest: unknown or expired ``txn``.
            Unauthorized: wrong username or password (show the login form again).
        """
        pending = self.pending(txn)
        user = self._users.authenticate(username, password)
        pending = replace(pending, username=user.username, patient_choices=user.selectable_patients)
        self._save(pending)
        return pending

    def approve(
        self, txn: str, *, scopes: Collection[str] | None = None, patient: str | None = None
    ) -> str:
        """End the transaction with a code: the redirect URL for the browser.

        Args:
            txn: the transaction.
            scopes: the scopes the user approved (default: all offered).
            patient: the patient picked (needed when ``patient_choices`` has several).

        Raises:
            InvalidRequest: unknown ``txn``, a patient not among the choices, or no patient
                picked when one is needed.
            Unauthorized: the user has not logged in.
        """
        pending = self.pending(txn)
        user = self._users.get(pending.username) if pending.username else None
        if user is None:
            raise Unauthorized("log in first", code="login-required")
        context = self._context(pending, user, patient)
        granted = _final_scopes(pending, user, context, scopes)
        authorization = Authorization(
            new_token(),
            pending.client_id,
            str(granted),
            user.username,
            user.fhir_user,
            context,
            int(self._clock()),
            pending.nonce,
        )
        code = self._issue_code(authorization, pending)
        self._ephemeral.take(_PENDING, txn)
        return _with_query(pending.redirect_uri, {"code": code}, pending.state)

    def deny(self, txn: str) -> str:
        """End the transaction without a grant: the redirect URL with ``access_denied``."""
        pending = self.pending(txn)
        self._ephemeral.take(_PENDING, txn)
        error = {"error": "access_denied", "error_description": "the user denied access"}
        return _with_query(pending.redirect_uri, error, pending.state)

    def _client(self, client_id: str | None) -> Client:
        try:
            return self._clients.get(client_id or "")
        except Unauthorized as exc:
            raise InvalidRequest(exc.diagnostics, code="invalid_client") from exc

    def _validate(
        self, client: Client, redirect_uri: str, params: Mapping[str, str]
    ) -> PendingAuthorization:
        _check_protocol(params, self._config.fhir_base_url)
        try:
            requested = parse_scopes(params.get("scope", ""))
            launch = params.get("launch")
            context = self._launches.redeem(launch, client.client_id) if launch else None
        except FhirError as exc:
            raise _Refusal(exc.code or "invalid_request", exc.diagnostics) from exc
        offered = grant(requested, client.allowed)
        if not offered.resources and not offered.names:
            raise _Refusal("invalid_scope", "none of the requested scopes may be granted")
        return PendingAuthorization(
            secrets.token_urlsafe(24),
            client.client_id,
            client.name or client.client_id,
            redirect_uri,
            params["state"],
            params["code_challenge"],
            str(offered),
            params.get("nonce"),
            context,
        )

    def _context(
        self, pending: PendingAuthorization, user: User, patient: str | None
    ) -> LaunchContext:
        if pending.launch is not None and pending.launch.patient is not None:
            if user.is_patient and pending.launch.patient not in user.selectable_patients:
                raise InvalidRequest("this launch is for another patient", code="access_denied")
            return pending.launch
        if not pending.needs_patient:
            return pending.launch or LaunchContext()
        choices = user.selectable_patients
        if patient is None and len(choices) > 1:
            raise InvalidRequest("pick a patient", code="patient-required")
        if patient is not None and patient not in choices:
            raise InvalidRequest("that patient is not among your patients", code="access_denied")
        picked = patient or (choices[0] if choices else None)
        return replace(pending.launch or LaunchContext(), patient=picked)

    def _issue_code(self, authorization: Authorization, pending: PendingAuthorization) -> str:
        code = new_token()
        document = {
            "authorization": authorization.to_json(),
            "redirect_uri": pending.redirect_uri,
            "code_challenge": pending.code_challenge,
        }
        self._ephemeral.put(CODES, digest(code), document, self._clock() + self._config.code_ttl)
        return code

    def _save(self, pending: PendingAuthorization) -> None:
        expires_at = self._clock() + self._config.pending_ttl
        self._ephemeral.put(_PENDING, pending.txn, pending.to_json(), expires_at)


def _check_protocol(params: Mapping[str, str], fhir_base_url: str) -> None:
    if params.get("response_type") != "code":
        raise _Refusal("unsupported_response_type", "response_type must be code")
    if params.get("aud", "").rstrip("/") != fhir_base_url.rstrip("/"):
        raise _Refusal("invalid_request", f"aud must be this server's FHIR base {fhir_base_url}")
    if not params.get("state"):
        raise _Refusal("invalid_request", "state is required")
    if params.get("code_challenge_method") != "S256":
        raise _Refusal("invalid_request", "PKCE with code_challenge_method=S256 is required")
    if not _CHALLENGE.fullmatch(params.get("code_challenge", "")):
        raise _Refusal("invalid_request", "code_challenge is missing or malformed")


def _final_scopes(
    pending: PendingAuthorization,
    user: User,
    context: LaunchContext,
    approved: Collection[str] | None,
) -> ScopeSet:
    """The scopes granted: offered, approved by the user, and meaningful in this context."""
    granted = parse_scopes(pending.scope).without(context="system")
    if approved is not None:
        granted = grant(granted, parse_scopes(" ".join(approved)))
    if user.is_patient:
        granted = granted.without(context="user")
    if context.patient is None:
        granted = granted.without("launch/patient", context="patient")
    if pending.launch is None:
        granted = granted.without("launch")
    if context.encounter is None:
        granted = granted.without("launch/encounter")
    return granted


def _with_query(uri: str, params: Mapping[str, str], state: str) -> str:
    query = urlencode({**params, **({"state": state} if state else {})})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"
