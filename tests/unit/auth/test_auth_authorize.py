from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from auth_fakes import REDIRECT, FixedClock, Flow

from fhir_server.auth.flows import SmartAuthServer
from fhir_server.errors import InvalidRequest, Unauthorized


def _error(redirect: str | None) -> tuple[str, str]:
    assert redirect is not None
    assert redirect.startswith(f"{REDIRECT}?")
    query = parse_qs(urlsplit(redirect).query)
    return query["error"][0], query.get("state", [""])[0]


def test_valid_request_is_pending_with_downgraded_scopes(flow: Flow) -> None:
    decision = flow.server.authorize_request(
        flow.params(scope="openid fhirUser patient/*.cruds system/*.rs email")
    )
    assert decision.redirect_to is None
    assert decision.pending is not None
    assert decision.pending.scope == "patient/*.cruds fhirUser openid"
    assert decision.pending.client_name == "App"


def test_unknown_client_is_an_error_page_not_a_redirect(flow: Flow) -> None:
    with pytest.raises(InvalidRequest) as caught:
        flow.server.authorize_request(flow.params(client_id="nobody"))
    assert caught.value.code == "invalid_client"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        None,
        "https://evil.example/callback",
        f"{REDIRECT}/",
        f"{REDIRECT}?x=1",
        "HTTPS://app.example/callback",
    ],
)
def test_redirect_uri_must_match_exactly(flow: Flow, redirect_uri: str | None) -> None:
    with pytest.raises(InvalidRequest, match="redirect_uri"):
        flow.server.authorize_request(flow.params(redirect_uri=redirect_uri))


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"aud": "https://other.example/fhir"}, "invalid_request"),
        ({"aud": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "patient/Observation.xyz"}, "invalid_scope"),
        ({"scope": "system/*.rs"}, "invalid_scope"),
        ({"launch": "not-a-launch", "scope": "launch openid"}, "invalid_request"),
    ],
)
def test_protocol_errors_redirect_back_with_state(
    flow: Flow, overrides: dict[str, str | None], error: str
) -> None:
    decision = flow.server.authorize_request(flow.params(**overrides))
    assert decision.pending is None
    assert _error(decision.redirect_to) == (error, "st4te")


def test_missing_state_is_refused(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params(state=None))
    assert _error(decision.redirect_to) == ("invalid_request", "")


def test_aud_may_carry_a_trailing_slash(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params(aud="https://ehr.example/fhir/"))
    assert decision.pending is not None


def test_wrong_password_keeps_the_transaction(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    with pytest.raises(Unauthorized):
        flow.server.login(decision.pending.txn, "alice", "wrong-password")
    with pytest.raises(Unauthorized):
        flow.server.login(decision.pending.txn, "mallory", "whatever-password")
    assert flow.server.login(decision.pending.txn, "alice", "alice-password").username == "alice"


def test_consent_needs_login(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    with pytest.raises(Unauthorized):
        flow.server.issue_code(decision.pending.txn)


def test_patient_picker_when_the_user_has_several_patients(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    pending = flow.server.login(decision.pending.txn, "alice", "alice-password")
    assert pending.needs_patient
    assert pending.patient_choices == ("p1", "p2")
    with pytest.raises(InvalidRequest) as caught:
        flow.server.issue_code(pending.txn)
    assert caught.value.code == "patient-required"
    with pytest.raises(InvalidRequest):
        flow.server.issue_code(pending.txn, patient="p3")
    redirect = flow.server.issue_code(pending.txn, patient="p2")
    assert "code=" in redirect


def test_single_patient_is_picked_automatically(flow: Flow) -> None:
    tokens = flow.tokens(user="bob", patient=None)
    assert tokens.patient == "p1"
    assert tokens.need_patient_banner is True


def test_patient_user_gets_their_own_record_and_no_user_scopes(flow: Flow) -> None:
    tokens = flow.tokens(
        user="pat", patient=None, scope="launch/patient patient/*.rs user/*.rs openid fhirUser"
    )
    assert tokens.patient == "p1"
    assert tokens.scope == "patient/*.rs fhirUser launch/patient openid"


def test_without_a_patient_patient_scopes_are_dropped(flow: Flow) -> None:
    flow.server.users.register("carol", "carol-password", "Practitioner/prac3")
    tokens = flow.tokens(
        user="carol", patient=None, scope="launch/patient patient/*.rs user/Observation.rs openid"
    )
    assert tokens.patient is None
    assert tokens.scope == "user/Observation.rs openid"


def test_user_can_approve_less_than_asked(flow: Flow) -> None:
    tokens = flow.tokens(scopes=["patient/Observation.r", "launch/patient"])
    assert tokens.scope == "patient/Observation.r launch/patient"
    assert tokens.refresh_token is None
    assert tokens.id_token is None


def test_deny_redirects_with_access_denied(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    redirect = flow.server.deny(decision.pending.txn)
    assert _error(redirect) == ("access_denied", "st4te")
    with pytest.raises(InvalidRequest):
        flow.server.pending(decision.pending.txn)


def test_transaction_is_single_use(flow: Flow) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    flow.server.login(decision.pending.txn, "bob", "bob-password")
    flow.server.issue_code(decision.pending.txn)
    with pytest.raises(InvalidRequest):
        flow.server.issue_code(decision.pending.txn)


def test_ehr_launch_binds_the_context(flow: Flow) -> None:
    launch = flow.server.create_launch("p2", "enc1", fhir_context=("Location/l1",))
    tokens = flow.tokens(
        launch=launch, patient=None, scope="launch openid fhirUser patient/*.rs launch/encounter"
    )
    assert tokens.patient == "p2"
    assert tokens.encounter == "enc1"
    assert tokens.fhir_context == ("Location/l1",)
    assert tokens.need_patient_banner is False
    assert tokens.scope == "patient/*.rs fhirUser launch launch/encounter openid"
    body = tokens.to_json()
    assert body["fhirContext"] == [{"reference": "Location/l1"}]
    assert body["smart_style_url"] == "https://ehr.example/style.json"


def test_launch_is_single_use(flow: Flow) -> None:
    launch = flow.server.create_launch("p2")
    flow.tokens(launch=launch, patient=None, scope="launch patient/*.rs")
    decision = flow.server.authorize_request(
        flow.params(launch=launch, scope="launch patient/*.rs")
    )
    assert _error(decision.redirect_to)[0] == "invalid_request"


def test_launch_expires(flow: Flow, clock: FixedClock) -> None:
    launch = flow.server.create_launch("p2")
    clock.advance(301)
    decision = flow.server.authorize_request(
        flow.params(launch=launch, scope="launch patient/*.rs")
    )
    assert decision.pending is None


def test_launch_bound_to_another_client_is_refused(flow: Flow) -> None:
    launch = flow.server.create_launch("p2", client_id="other")
    decision = flow.server.authorize_request(
        flow.params(launch=launch, scope="launch patient/*.rs")
    )
    assert decision.pending is None


def test_launch_for_another_patient_is_refused_to_a_patient_user(flow: Flow) -> None:
    launch = flow.server.create_launch("p2")
    decision = flow.server.authorize_request(
        flow.params(launch=launch, scope="launch patient/*.rs")
    )
    assert decision.pending is not None
    flow.server.login(decision.pending.txn, "pat", "pat-password")
    with pytest.raises(InvalidRequest):
        flow.server.issue_code(decision.pending.txn)


@pytest.mark.parametrize(
    ("patient", "encounter", "context"),
    [("bad id!", None, ()), ("p1", "bad/id", ()), ("p1", None, ("not a reference",))],
)
def test_launch_needs_valid_ids(
    server: SmartAuthServer, patient: str, encounter: str | None, context: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidRequest):
        server.create_launch(patient, encounter, fhir_context=context)


def test_pending_expires(flow: Flow, clock: FixedClock) -> None:
    decision = flow.server.authorize_request(flow.params())
    assert decision.pending is not None
    clock.advance(601)
    with pytest.raises(InvalidRequest):
        flow.server.login(decision.pending.txn, "alice", "alice-password")
