"""Acknowledged means durable: SIGKILL the server mid-load, restart it, every ack is there."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess, running_server, start_server

FHIR_JSON = {"Content-Type": "application/fhir+json"}
WRITERS = 8
PER_WRITER = 60
KILL_AFTER = 150


def _write_until_killed(
    server: ServerProcess, writer: int, acked: dict[str, int], enough: threading.Event
) -> None:
    """Create and then update resources, recording each acknowledged (id, version)."""
    with httpx.Client(base_url=server.base_url, headers=FHIR_JSON, timeout=10) as client:
        for i in range(PER_WRITER):
            id_ = f"w{writer}-{i}"
            try:
                for text in ("created", "updated"):
                    body = {"resourceType": "Basic", "id": id_, "code": {"text": text}}
                    response = client.put(f"/Basic/{id_}", json=body)
                    if response.status_code not in (200, 201):
                        return
                    acked[id_] = int(response.headers["ETag"][3:-1])
            except httpx.TransportError:
                return
            if len(acked) >= KILL_AFTER:
                enough.set()


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (uvicorn's workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.parametrize("workers", [1, 2])
def test_every_acknowledged_write_survives_sigkill(tmp_path: Path, workers: int) -> None:
    args = ("--workers", str(workers))
    server = start_server(tmp_path, args=args)
    acked: dict[str, int] = {}
    enough = threading.Event()
    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            for writer in range(WRITERS):
                pool.submit(_write_until_killed, server, writer, acked, enough)
            assert enough.wait(timeout=60), server.log()
            for child in _children(server.process.pid):
                os.kill(child, signal.SIGKILL)
            server.kill()
    finally:
        server.stop()
    assert len(acked) >= KILL_AFTER
    with (
        running_server(tmp_path, args=args) as restarted,
        httpx.Client(base_url=restarted.base_url, timeout=30) as client,
    ):
        for id_, version in acked.items():
            read = client.get(f"/Basic/{id_}")
            assert read.status_code == 200, (id_, read.text)
            assert int(read.json()["meta"]["versionId"]) >= version, id_
            assert client.get(f"/Basic/{id_}/_history/{version}").status_code == 200
