"""Fixtures for the search unit tests."""

from __future__ import annotations

import pytest

from fhir_server.search.registry import Registry, default_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return default_registry()
