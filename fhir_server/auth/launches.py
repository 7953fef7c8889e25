"""EHR launch: an opaque, single-use, expiring ``launch`` value bound to a context.

https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch

An administrator (or the EHR) creates a launch for a patient, optionally an encounter and
a client; the app receives it as the ``launch`` parameter and sends it back to the
authorization endpoint with the ``launch`` scope, which exchanges it for that context.
"""

from __future__ import annotations

import re

from fhir_server.auth.context import LaunchContext
from fhir_server.auth.opaque import digest, new_token
from fhir_server.auth.ports import Clock, ExpiringStore
from fhir_server.errors import InvalidRequest

_KIND = "launch"
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")


class Launches:
    """Creates launch values and redeems them once."""

    def __init__(self, ephemeral: ExpiringStore, clock: Clock, ttl: int) -> None:
        """Create launches that live ``ttl`` seconds."""
        self._ephemeral, self._clock, self._ttl = ephemeral, clock, ttl

    def create(
        self,
        patient_id: str,
        encounter_id: str | None = None,
        *,
        fhir_context: tuple[str, ...] = (),
        client_id: str | None = None,
    ) -> str:
        """A new launch value for this context, usable once within the lifetime.

        Args:
            patient_id: the launch patient.
            encounter_id: the launch encounter, if any.
            fhir_context: further relative references for ``fhirContext``.
            client_id: when given, only this client may redeem the launch.

        Raises:
            InvalidRequest: ids or references that are not FHIR ids / relative references.
        """
        ids = [patient_id, *([encounter_id] if encounter_id is not None else [])]
        if not all(_ID.fullmatch(i) for i in ids):
            raise InvalidRequest("patient and encounter must be FHIR ids")
        if not all(_REFERENCE.fullmatch(r) for r in fhir_context):
            raise InvalidRequest("fhirContext entries must be relative references like Type/id")
        context = LaunchContext(patient_id, encounter_id, fhir_context, need_patient_banner=False)
        launch = new_token()
        document = {"context": context.to_json(), "client_id": client_id}
        self._ephemeral.put(_KIND, digest(launch), document, self._clock() + self._ttl)
        return launch

    def redeem(self, launch: str, client_id: str) -> LaunchContext:
        """The context of a launch value, which can never be used again.

        Raises:
            InvalidRequest: unknown, expired, already used, or bound to another client.
        """
        document = self._ephemeral.take(_KIND, digest(launch))
        if document is None:
            raise InvalidRequest("unknown, expired or used launch", code="invalid_request")
        if document["client_id"] not in (None, client_id):
            raise InvalidRequest("the launch belongs to another client", code="invalid_request")
        return LaunchContext.from_json(document["context"])
