"""End users who log in at the authorization endpoint.

A user is linked to a FHIR resource (``Practitioner/123``, ``Patient/456``, ...) that
becomes the ``fhirUser`` claim, and lists the patients they may pick in a standalone launch.
A user whose ``fhirUser`` is a Patient can only ever pick that patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_server.auth.passwords import PasswordHasher
from fhir_server.auth.ports import AuthStore, Document
from fhir_server.errors import InvalidRequest, Unauthorized

COLLECTION = "users"
_REFERENCE = re.compile(
    r"(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)/[A-Za-z0-9\-.]{1,64}"
)


@dataclass(frozen=True, slots=True)
class User:
    """A user account.

    Attributes:
        username: the login name.
        password_hash: a ``PasswordHasher`` hash.
        fhir_user: the relative reference of the user's FHIR resource.
        patients: ids of the patients this user may pick (ignored for a Patient user).
    """

    username: str
    password_hash: str
    fhir_user: str
    patients: tuple[str, ...] = ()

    @property
    def selectable_patients(self) -> tuple[str, ...]:
        """The patients this user may pick as launch context."""
        resource_type, _, resource_id = self.fhir_user.partition("/")
        return (resource_id,) if resource_type == "Patient" else self.patients

    @property
    def is_patient(self) -> bool:
        """True when the user is a patient (or acts for one): no ``user/`` scopes then."""
        return self.fhir_user.startswith(("Patient/", "RelatedPerson/"))

    def to_json(self) -> Document:
        """The stored form."""
        return {
            "username": self.username,
            "password_hash": self.password_hash,
            "fhir_user": self.fhir_user,
            "patients": list(self.patients),
        }

    @classmethod
    def from_json(cls, doc: Document) -> User:
        """Read the stored form."""
        return cls(doc["username"], doc["password_hash"], doc["fhir_user"], tuple(doc["patients"]))


class UserDirectory:
    """Registers users and checks their passwords."""

    def __init__(self, store: AuthStore, hasher: PasswordHasher) -> None:
        """Create a directory over ``store`` (collection ``users``)."""
        self._store, self._hasher = store, hasher
        self._decoy = hasher.hash("decoy password for unknown users")

    def register(
        self, username: str, password: str, fhir_user: str, patients: tuple[str, ...] = ()
    ) -> User:
        """Store a user, replacing one of the same name.

        Raises:
            InvalidRequest: empty username, a password under 8 characters, or a ``fhir_user``
                that is not a relative reference to a Practitioner, PractitionerRole,
                Patient, RelatedPerson or Person.
        """
        if not username or len(password) < 8:
            raise InvalidRequest("a user needs a username and a password of 8+ characters")
        if not _REFERENCE.fullmatch(fhir_user):
            raise InvalidRequest(f"fhirUser {fhir_user!r} is not e.g. Practitioner/123")
        user = User(username, self._hasher.hash(password), fhir_user, patients)
        self._store.put(COLLECTION, username, user.to_json())
        return user

    def get(self, username: str) -> User | None:
        """The user, or None."""
        doc = self._store.get(COLLECTION, username)
        return User.from_json(doc) if doc is not None else None

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is.

        Raises:
            Unauthorized: unknown user or wrong password (indistinguishable, same cost).
        """
        user = self.get(username)
        ok = self._hasher.verify(password, user.password_hash if user else self._decoy)
        if user is None or not ok:
            raise Unauthorized("wrong username or password", code="login-failed")
        return user
