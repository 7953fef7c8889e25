"""What an authorization carries from consent to every token derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.auth.ports import Document


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """The launch context returned with tokens.

    Attributes:
        patient: the launch patient's id (``patient/`` scopes are confined to it).
        encounter: the launch encounter's id.
        fhir_context: further relative references (``fhirContext``).
        need_patient_banner: whether the app must show a patient banner.
    """

    patient: str | None = None
    encounter: str | None = None
    fhir_context: tuple[str, ...] = ()
    need_patient_banner: bool = True

    def to_json(self) -> Document:
        """The stored form."""
        return {
            "patient": self.patient,
            "encounter": self.encounter,
            "fhir_context": list(self.fhir_context),
            "need_patient_banner": self.need_patient_banner,
        }

    @classmethod
    def from_json(cls, doc: Document) -> LaunchContext:
        """Read the stored form."""
        return cls(
            doc["patient"], doc["encounter"], tuple(doc["fhir_context"]), doc["need_patient_banner"]
        )


@dataclass(frozen=True, slots=True)
class Authorization:
    """One authorization (a grant): every token issued from it carries its ``sid``.

    Revoking the authorization (code replay, refresh token reuse, revocation of a refresh
    token) revokes every access and refresh token issued from it.

    Attributes:
        sid: the authorization's id.
        client_id: the client it was granted to.
        scope: the granted scopes, space-separated.
        subject: the user's username, or the client id for a backend client.
        fhir_user: the user's FHIR resource (relative reference), if any.
        context: the launch context.
        auth_time: when the user authenticated (epoch seconds).
        nonce: the OpenID Connect nonce from the authorize request, echoed in the id_token.
    """

    sid: str
    client_id: str
    scope: str
    subject: str
    fhir_user: str | None = None
    context: LaunchContext = field(default_factory=LaunchContext)
    auth_time: int = 0
    nonce: str | None = None

    def to_json(self) -> Document:
        """The stored form."""
        return {
            "sid": self.sid,
            "client_id": self.client_id,
            "scope": self.scope,
            "subject": self.subject,
            "fhir_user": self.fhir_user,
            "context": self.context.to_json(),
            "auth_time": self.auth_time,
            "nonce": self.nonce,
        }

    @classmethod
    def from_json(cls, doc: Document) -> Authorization:
        """Read the stored form."""
        return cls(
            doc["sid"],
            doc["client_id"],
            doc["scope"],
            doc["subject"],
            doc["fhir_user"],
            LaunchContext.from_json(doc["context"]),
            doc["auth_time"],
            doc["nonce"],
        )
