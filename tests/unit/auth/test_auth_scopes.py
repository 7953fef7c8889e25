from __future__ import annotations

import pytest

from fhir_server.auth.scopes import Scope, grant, parse_scope, parse_scopes
from fhir_server.errors import InvalidRequest


def test_v1_read_is_read_and_search() -> None:
    scope = parse_scope("patient/Observation.read")
    assert scope == Scope("patient", "Observation", frozenset("rs"))
    assert isinstance(scope, Scope)
    assert scope.v1


def test_v1_write_is_create_update_delete() -> None:
    assert parse_scope("user/*.write") == Scope("user", "*", frozenset("cud"))


def test_v1_star_is_everything() -> None:
    assert parse_scope("system/*.*") == Scope("system", "*", frozenset("cruds"))


def test_v2_permissions() -> None:
    assert parse_scope("user/Patient.cruds") == Scope("user", "Patient", frozenset("cruds"))
    assert parse_scope("patient/Observation.rs") == Scope("patient", "Observation", frozenset("rs"))


def test_v2_query_constraint() -> None:
    scope = parse_scope("patient/Observation.rs?category=vital-signs")
    assert isinstance(scope, Scope)
    assert scope.constraints == (("category", "vital-signs"),)


def test_v2_constraint_with_system_and_several_parameters() -> None:
    scope = parse_scope(
        "patient/Observation.rs?code=http://loinc.org|8867-4&category=http://x.org/cs|vital-signs"
    )
    assert isinstance(scope, Scope)
    assert scope.constraints == (
        ("category", "http://x.org/cs|vital-signs"),
        ("code", "http://loinc.org|8867-4"),
    )


def test_plain_scopes_are_names() -> None:
    parsed = parse_scopes("openid fhirUser launch launch/patient offline_access")
    assert parsed.names == {"openid", "fhirUser", "launch", "launch/patient", "offline_access"}
    assert parsed.resources == ()


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.xyz",
        "patient/Observation.sr",
        "patient/Observation.rr",
        "patient/Observation",
        "patient/Observation.",
        "patient/Foo.rs",
        "patient/Observation.read?category=vital-signs",
        "patient/Observation.rs?category",
        'patient/Observation.rs"',
    ],
)
def test_malformed_scopes_are_invalid_scope(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_scopes(text)
    assert caught.value.code == "invalid_scope"


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.rs",
        "patient/Observation.read",
        "user/*.write",
        "system/*.*",
        "patient/Observation.rs?category=vital-signs",
        "patient/Observation.rs?code=http://loinc.org|8867-4",
    ],
)
def test_scopes_write_back_as_parsed(text: str) -> None:
    assert str(parse_scope(text)) == text


def test_unknown_scope_names_are_kept_but_never_granted_unless_allowed() -> None:
    requested = parse_scopes("group/Observation.rs email")
    assert requested.names == {"group/Observation.rs", "email"}
    assert grant(requested, parse_scopes("patient/*.rs openid")).names == frozenset()


def test_downgrade_wildcard_to_allowed_type() -> None:
    granted = grant(parse_scopes("patient/*.cruds"), parse_scopes("patient/Observation.rs"))
    assert str(granted) == "patient/Observation.rs"


def test_downgrade_keeps_v1_syntax_when_possible() -> None:
    granted = grant(parse_scopes("patient/Observation.read"), parse_scopes("patient/*.cruds"))
    assert str(granted) == "patient/Observation.read"


def test_downgrade_writes_v2_when_v1_cannot_express_it() -> None:
    granted = grant(parse_scopes("user/Observation.write"), parse_scopes("user/*.c"))
    assert str(granted) == "user/Observation.c"


def test_downgrade_never_crosses_contexts() -> None:
    granted = grant(parse_scopes("user/*.rs system/*.rs"), parse_scopes("patient/*.rs"))
    assert str(granted) == ""


def test_downgrade_adds_the_allowed_constraint() -> None:
    granted = grant(
        parse_scopes("patient/Observation.rs"),
        parse_scopes("patient/Observation.rs?category=vital-signs"),
    )
    assert str(granted) == "patient/Observation.rs?category=vital-signs"


def test_downgrade_keeps_plain_scopes_only_when_allowed() -> None:
    granted = grant(parse_scopes("openid fhirUser offline_access"), parse_scopes("openid fhirUser"))
    assert granted.names == {"openid", "fhirUser"}


def test_downgrade_drops_scopes_covered_by_a_broader_one() -> None:
    granted = grant(
        parse_scopes("patient/Observation.rs patient/*.rs"),
        parse_scopes("patient/*.rs"),
    )
    assert str(granted) == "patient/*.rs"


def test_covers_detects_escalation() -> None:
    original = parse_scopes("patient/Observation.rs offline_access")
    assert original.covers(parse_scopes("patient/Observation.r"))
    assert not original.covers(parse_scopes("patient/Observation.rs patient/Condition.rs"))
    assert not original.covers(parse_scopes("patient/Observation.cruds"))
    assert not original.covers(parse_scopes("openid"))


def test_constrained_scope_does_not_cover_unconstrained() -> None:
    original = parse_scopes("patient/Observation.rs?category=vital-signs")
    assert not original.covers(parse_scopes("patient/Observation.rs"))
    assert original.covers(parse_scopes("patient/Observation.r?category=vital-signs"))
