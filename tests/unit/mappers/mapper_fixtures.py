"""Shared test data for the mapper tests: fixture files, contexts, validity checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.validator import validate_resource
from fhir_server.ingest.spec import MapContext, MappedMessage, UnknownPatientPolicy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def make_ctx(policy: UnknownPatientPolicy = "hold", message_key: str | None = None) -> MapContext:
    return MapContext(
        received_at=datetime(2024, 3, 22, 9, 0, tzinfo=UTC),
        transport="test",
        source="unit-test",
        message_key=message_key,
        unknown_patient_policy=policy,
    )


def assert_valid(mapped: MappedMessage) -> MappedMessage:
    """Every resource, and the transaction Bundle itself, is R4 schema-valid."""
    for entry in mapped.bundle_entries:
        issues = validate_resource(entry["resource"])
        assert issues == [], issues
    assert validate_resource(mapped.to_bundle()) == []
    return mapped


def of_type(mapped: MappedMessage, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in mapped.resources if r["resourceType"] == resource_type]


def entry_of(mapped: MappedMessage, resource: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in mapped.bundle_entries if e["resource"] is resource)
