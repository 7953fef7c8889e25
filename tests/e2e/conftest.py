"""End-to-end fixtures: a real ``fhir-server serve`` process per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on SQLite in a fresh data directory, auth off (loopback)."""
    data_dir: Path = tmp_path_factory.mktemp("server")
    with running_server(data_dir) as process:
        yield process
