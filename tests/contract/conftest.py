from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_server.core.ports import ResourceStore
from fhir_server.core.resources import ResourceService
from fhir_server.search.engine import RegistrySearchEngine
from tests.factories import BACKENDS, open_store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResourceStore]:
    only = request.node.get_closest_marker("backends")
    if only and not any(request.param.startswith(name) for name in only.args):
        pytest.skip(f"{request.param}: {only.kwargs.get('reason', 'not applicable')}")
    s = open_store(request.param, tmp_path)
    yield s
    s.close()


@pytest.fixture
def service(store: ResourceStore) -> ResourceService:
    return ResourceService(store, RegistrySearchEngine.default(1000, 20))
