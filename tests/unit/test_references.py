"""Reference rewriting in transaction Bundles: replaced values, untouched input, shared rest."""

from __future__ import annotations

import copy

from fhir_server.core.references import rewrite_references

MAPPING = {"urn:uuid:p": "Patient/1", "urn:uuid:d": "Device/2"}


def resolve(reference: str) -> str | None:
    return MAPPING.get(reference)


def test_every_reference_is_rewritten_and_the_input_is_left_alone() -> None:
    resource = {
        "resourceType": "DiagnosticReport",
        "subject": {"reference": "urn:uuid:p", "display": "Ann"},
        "result": [{"reference": "Observation/9"}, {"reference": "urn:uuid:d"}],
        "contained": [{"resourceType": "Device", "owner": {"reference": "urn:uuid:p"}}],
        "code": {"coding": [{"code": "x"}]},
    }
    before = copy.deepcopy(resource)
    out = rewrite_references(resource, resolve)
    assert resource == before
    assert out["subject"] == {"reference": "Patient/1", "display": "Ann"}
    assert out["result"] == [{"reference": "Observation/9"}, {"reference": "Device/2"}]
    assert out["contained"][0]["owner"] == {"reference": "Patient/1"}
    assert out["code"] is resource["code"]  # nothing to rewrite there: shared, not copied
    assert out["result"][0] is resource["result"][0]


def test_a_resource_without_local_references_is_returned_as_it_is() -> None:
    resource = {"resourceType": "Patient", "link": [{"other": {"reference": "Patient/7"}}]}
    assert rewrite_references(resource, resolve) is resource


def test_a_reference_that_is_not_a_string_is_left_as_it_is() -> None:
    resource = {"resourceType": "Basic", "extension": [{"reference": 1}]}
    assert rewrite_references(resource, resolve) == resource
