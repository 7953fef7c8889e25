"""The token endpoint's success response (RFC 6749 section 5.1 plus SMART launch context)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response.

    Attributes:
        access_token: the JWT access token.
        expires_in: its lifetime in seconds.
        scope: the granted scopes; narrower than asked when downgraded.
        refresh_token: present when ``offline_access`` or ``online_access`` was granted.
        id_token: present when ``openid`` was granted to a user-facing app.
        patient: the launch patient's id.
        encounter: the launch encounter's id.
        fhir_context: further launch context references.
        need_patient_banner: whether the app must show a patient banner (user-facing only).
        smart_style_url: where the app finds style settings (user-facing only).
        token_type: always ``Bearer``.
    """

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None
    patient: str | None = None
    encounter: str | None = None
    fhir_context: tuple[str, ...] = ()
    need_patient_banner: bool | None = None
    smart_style_url: str | None = None
    token_type: str = "Bearer"

    def to_json(self) -> dict[str, Any]:
        """The JSON body, without absent members (send with ``Cache-Control: no-store``)."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        optional: dict[str, Any] = {
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "patient": self.patient,
            "encounter": self.encounter,
            "fhirContext": [{"reference": r} for r in self.fhir_context] or None,
            "need_patient_banner": self.need_patient_banner,
            "smart_style_url": self.smart_style_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body
