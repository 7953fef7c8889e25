from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fhir_server.app import create_app
from tests.factories import BACKENDS, make_settings, open_store


@pytest.fixture(params=BACKENDS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    store = open_store(request.param, tmp_path)
    app = create_app(make_settings(tmp_path, max_body_bytes=200_000), store)
    with TestClient(app, base_url="http://testserver") as c:
        yield c
