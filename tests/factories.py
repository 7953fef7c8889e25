"""Shared builders for tests: stores per backend, settings, sample resources."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fhir_server.core.ports import ResourceStore
from fhir_server.settings import Settings

MONGO_URL = os.environ.get("FHIR_SERVER_TEST_MONGODB_URL")
MONGO_LABEL = "mongo-real" if MONGO_URL else "mongo-standin"
BACKENDS = ("sqlite", MONGO_LABEL)


def open_store(backend: str, tmp_path: Path) -> ResourceStore:
    """A fresh, empty store of the named backend."""
    if backend == "sqlite":
        from fhir_server.storage.sqlite.store import SqliteResourceStore

        return SqliteResourceStore(tmp_path / "fhir.db")
    from tests.support.mongo_standin import open_real_store, open_standin_store

    if MONGO_URL:
        return open_real_store(MONGO_URL)
    return open_standin_store()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing at a temporary data directory."""
    return Settings(data_dir=tmp_path, **overrides)


def observation(
    code: tuple[str, str] = ("http://loinc.org", "8867-4"),
    value: float = 72,
    subject: str = "Patient/p1",
    effective: str = "2024-01-01T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A heart-rate style vital-sign Observation."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {"reference": subject},
        "effectiveDateTime": effective,
        "valueQuantity": {
            "value": value,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
        **extra,
    }


def patient(family: str = "Smith", identifier: str = "123", **extra: Any) -> dict[str, Any]:
    """A Patient with one name and one MRN identifier."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": identifier}],
        "name": [{"family": family, "given": ["Ann"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
        **extra,
    }
