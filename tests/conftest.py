from __future__ import annotations

import pytest

from tests.factories import MONGO_URL


def pytest_report_header(config: pytest.Config) -> str:
    if MONGO_URL:
        return "mongo backend: REAL MongoDB at FHIR_SERVER_TEST_MONGODB_URL"
    return (
        "mongo backend: in-memory stand-in (mongomock, labelled mongo-standin) - not a real"
        " MongoDB; set FHIR_SERVER_TEST_MONGODB_URL to run against a replica set"
    )
