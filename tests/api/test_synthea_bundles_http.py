"""Real Synthea R4 patient Bundles (tests/fixtures/synthea) POSTed as transactions.

Synthea refers to practitioners, organizations and locations with conditional references
(``Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|...``) and writes those resources
to separate hospital/practitioner Bundles, which are not vendored (see the README there). The
test first creates one resource per conditional reference the patient Bundle makes, the way
those Bundles do (POST with ifNoneExist), then posts the patient Bundle itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

SYNTHEA = Path(__file__).parents[1] / "fixtures" / "synthea"
FILES = sorted(SYNTHEA.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return bundle


def references(node: Any) -> Iterator[str]:
    """Every ``reference`` string in a resource tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def provider_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """A transaction creating what the conditional references of ``bundle`` name."""
    entries = []
    for reference in sorted({r for r in references(bundle) if "?" in r}):
        resource_type, query = reference.split("?", 1)
        [(name, value)] = parse_qsl(query)
        system, _, code = value.partition("|")
        assert name == "identifier"
        entries.append(
            {
                "resource": {
                    "resourceType": resource_type,
                    "identifier": [{"system": system, "value": code}],
                },
                "request": {"method": "POST", "url": resource_type, "ifNoneExist": query},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def counts(bundle: dict[str, Any]) -> Counter[str]:
    return Counter(entry["resource"]["resourceType"] for entry in bundle["entry"])


@pytest.fixture(params=FILES, ids=[p.stem for p in FILES])
def posted(client: TestClient, request: pytest.FixtureRequest) -> tuple[dict[str, Any], Any]:
    bundle = load(request.param)
    providers = client.post("/fhir", json=provider_bundle(bundle))
    assert providers.status_code == 200, providers.text
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 200, answer.text
    return bundle, answer.json()


def test_fixture_bundles_are_whole_transactions() -> None:
    for path in FILES:
        bundle = load(path)
        assert bundle["type"] == "transaction"
        full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
        local = {r for r in references(bundle) if r.startswith("urn:uuid:")}
        assert local <= full_urls, f"{path.name} refers to entries it does not hold"


def test_every_entry_is_created(posted: tuple[dict[str, Any], Any]) -> None:
    bundle, answer = posted
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created"] * len(
        bundle["entry"]
    )


def test_counts_per_type_equal_the_bundle(
    client: TestClient, posted: tuple[dict[str, Any], Any]
) -> None:
    bundle, _ = posted
    for resource_type, count in counts(bundle).items():
        found = client.get(f"/fhir/{resource_type}", params={"_summary": "count"})
        assert found.status_code == 200
        assert found.json()["total"] == count, resource_type


def test_references_point_at_stored_resources(
    client: TestClient, posted: tuple[dict[str, Any], Any]
) -> None:
    _, answer = posted
    for entry in answer["entry"]:
        for reference in references(entry["resource"]):
            if reference.startswith("#"):
                continue
            assert not reference.startswith("urn:uuid:"), reference
            assert "?" not in reference, reference
            assert client.get(f"/fhir/{reference}").status_code == 200, reference


def test_patient_compartment_holds_the_patients_resources(
    client: TestClient, posted: tuple[dict[str, Any], Any]
) -> None:
    bundle, answer = posted
    patient_id = answer["entry"][0]["resource"]["id"]
    assert answer["entry"][0]["resource"]["resourceType"] == "Patient"
    found = client.get(f"/fhir/Patient/{patient_id}/*", params={"_count": 200})
    assert found.status_code == 200, found.text
    body = found.json()
    assert "next" not in {link["relation"] for link in body.get("link", [])}
    got = Counter(e["resource"]["resourceType"] for e in body["entry"])
    assert got == counts(bundle)
    created = {e["response"]["location"].split("/_history/")[0] for e in answer["entry"]}
    assert {e["fullUrl"] for e in body["entry"]} == created
