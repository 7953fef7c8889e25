from __future__ import annotations

from typing import Any

import pytest

from fhir_server.auth.policy import (
    Caller,
    Restriction,
    authorize,
    authorize_content,
    patient_guard,
    search_restrictions,
    visible,
)
from fhir_server.auth.scopes import parse_scopes
from fhir_server.errors import Forbidden


def caller(scopes: str, patient: str | None = None) -> Caller:
    return Caller(client_id="app", scopes=parse_scopes(scopes).resources, patient_id=patient)


def observation(patient: str, category: str = "vital-signs", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{patient}",
        "subject": {"reference": f"Patient/{patient}"},
        "category": [{"coding": [{"code": category}]}],
        **extra,
    }


def category_matcher(resource: dict[str, Any], constraints: tuple[tuple[str, str], ...]) -> bool:
    codes = {c["code"] for cat in resource.get("category", []) for c in cat["coding"]}
    return all(name == "category" and value in codes for name, value in constraints)


@pytest.mark.parametrize(
    ("scopes", "interaction", "resource_type"),
    [
        ("patient/Observation.rs", "read", "Observation"),
        ("patient/Observation.rs", "vread", "Observation"),
        ("patient/Observation.rs", "search", "Observation"),
        ("patient/Observation.read", "history", "Observation"),
        ("patient/*.cruds", "create", "Condition"),
        ("patient/*.u", "patch", "Condition"),
        ("patient/*.d", "delete", "Patient"),
        ("user/*.rs", "operation", "Practitioner"),
        ("user/*.write", "update", "Practitioner"),
        ("system/*.*", "delete", "Device"),
    ],
)
def test_allowed(scopes: str, interaction: Any, resource_type: str) -> None:
    authorize(caller(scopes, patient="p1"), interaction, resource_type)


@pytest.mark.parametrize(
    ("scopes", "interaction", "resource_type", "code"),
    [
        ("patient/Observation.rs", "create", "Observation", "insufficient_scope"),
        ("patient/Observation.r", "search", "Observation", "insufficient_scope"),
        ("patient/Observation.rs", "read", "Condition", "insufficient_scope"),
        ("user/*.read", "update", "Patient", "insufficient_scope"),
        ("user/*.write", "read", "Patient", "insufficient_scope"),
        ("patient/*.rs", "read", "Practitioner", "smart-out-of-compartment"),
        ("patient/*.rs", "read", "Device", "smart-out-of-compartment"),
        ("", "read", "Patient", "insufficient_scope"),
    ],
)
def test_denied(scopes: str, interaction: Any, resource_type: str, code: str) -> None:
    with pytest.raises(Forbidden) as caught:
        authorize(caller(scopes, patient="p1"), interaction, resource_type)
    assert caught.value.code == code


def test_patient_scopes_need_a_launch_patient() -> None:
    with pytest.raises(Forbidden):
        authorize(caller("patient/*.rs", patient=None), "read", "Observation")


def test_history_levels_need_different_permissions() -> None:
    reader = caller("user/Observation.r")
    authorize(reader, "history", "Observation", level="instance")
    with pytest.raises(Forbidden):
        authorize(reader, "history", "Observation", level="type")
    authorize(caller("user/Observation.s"), "history", "Observation", level="system")


def test_anonymous_caller_may_do_anything() -> None:
    anonymous = Caller.anonymous()
    authorize(anonymous, "delete", "Patient")
    assert search_restrictions(anonymous, "Observation") is None
    assert visible(anonymous, observation("p2"))
    authorize_content(anonymous, "create", observation("p2"))


def test_patient_guard_confines_patient_scopes_to_the_compartment() -> None:
    patient_caller = caller("patient/*.rs", patient="p1")
    assert patient_guard(patient_caller, "Observation") == ("subject", "performer")
    assert patient_guard(patient_caller, "Patient") == ("_id", "link")
    assert patient_guard(patient_caller, "Encounter") == ("subject",)


def test_user_or_system_scope_lifts_the_guard() -> None:
    assert patient_guard(caller("patient/*.rs user/Observation.rs", "p1"), "Observation") is None
    assert patient_guard(caller("system/*.rs"), "Observation") is None


def test_guard_refuses_types_outside_the_compartment() -> None:
    with pytest.raises(Forbidden):
        patient_guard(caller("patient/*.rs", "p1"), "Practitioner")


def test_search_restrictions_carry_v2_constraints() -> None:
    constrained = caller("patient/Observation.rs?category=vital-signs", "p1")
    assert search_restrictions(constrained, "Observation") == (
        Restriction(("subject", "performer"), (("category", "vital-signs"),)),
    )
    mixed = caller("patient/Observation.rs user/Observation.rs?category=laboratory", "p1")
    assert search_restrictions(mixed, "Observation") == (
        Restriction(("subject", "performer")),
        Restriction(None, (("category", "laboratory"),)),
    )
    assert patient_guard(mixed, "Observation") is None


def test_visible_only_inside_the_patient_compartment() -> None:
    patient_caller = caller("patient/*.rs", "p1")
    assert visible(patient_caller, observation("p1"))
    assert not visible(patient_caller, observation("p2"))
    assert visible(patient_caller, {"resourceType": "Patient", "id": "p1"})
    assert not visible(patient_caller, {"resourceType": "Patient", "id": "p2"})
    linked = {
        "resourceType": "Patient",
        "id": "p9",
        "link": [{"other": {"reference": "Patient/p1"}}],
    }
    assert visible(patient_caller, linked)
    assert not visible(patient_caller, {"resourceType": "Practitioner", "id": "x"})


def test_visible_follows_absolute_and_versioned_references() -> None:
    patient_caller = caller("patient/Observation.rs", "p1")
    absolute = observation(
        "p2", performer=[{"reference": "https://ehr.example/fhir/Patient/p1/_history/2"}]
    )
    assert visible(patient_caller, absolute)


def test_visible_uses_the_injected_compartment_function() -> None:
    patient_caller = caller("patient/Observation.rs", "p1")
    assert visible(patient_caller, observation("p2"), compartment_refs=lambda _: {"Patient/p1"})
    assert not visible(patient_caller, observation("p1"), compartment_refs=lambda _: set())


def test_visible_applies_constraints_through_the_matcher() -> None:
    constrained = caller("patient/Observation.rs?category=vital-signs", "p1")
    vital, lab = observation("p1"), observation("p1", category="laboratory")
    assert visible(constrained, vital, matcher=category_matcher)
    assert not visible(constrained, lab, matcher=category_matcher)
    assert not visible(constrained, vital)


def test_user_scope_sees_every_patient() -> None:
    assert visible(caller("user/Observation.rs"), observation("p2"))
    assert not visible(caller("user/Observation.cud"), observation("p2"))


def test_writes_are_confined_to_the_compartment() -> None:
    writer = caller("patient/Observation.cruds", "p1")
    authorize_content(writer, "create", observation("p1"))
    with pytest.raises(Forbidden) as caught:
        authorize_content(writer, "create", observation("p2"))
    assert caught.value.code == "smart-out-of-compartment"
    with pytest.raises(Forbidden):
        authorize_content(caller("patient/Observation.rs", "p1"), "update", observation("p1"))


def test_writes_respect_constraints() -> None:
    writer = caller("user/Observation.c?category=vital-signs")
    authorize_content(writer, "create", observation("p1"), matcher=category_matcher)
    with pytest.raises(Forbidden):
        authorize_content(
            writer, "create", observation("p1", "laboratory"), matcher=category_matcher
        )
