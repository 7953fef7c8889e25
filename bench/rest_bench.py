"""Start the server on a fresh SQLite database and print JSON figures for the write/read path.

Measures POST Observation at concurrency 1 and 16, a transaction Bundle of 100 Observations,
GET by id, and the server's RSS. Every loop is bounded; traffic stays on 127.0.0.1.

The client shares the server's cores, so its CPU counts: create c16 and read c16 run twice,
with httpx (``create_c16``, ``read_c16``: the figures as measured before) and with a raw
asyncio-socket client (``*_raw``: HTTP/1.1 keep-alive, status and body checked, about a tenth
of the CPU per request). ``client_cpu_ms_per_req`` is reported with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

OBS: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "Patient/bench"},
    "effectiveDateTime": "2024-01-01T10:00:00Z",
    "valueQuantity": {
        "value": 72,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    },
}
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


async def _timed(
    n: int, concurrency: int, pid: int, worker: Callable[[list[float]], Awaitable[None]]
) -> dict[str, float]:
    """Run ``concurrency`` copies of ``worker`` and summarise the ``n`` latencies they record."""
    latencies: list[float] = []
    start = time.perf_counter()
    cpu, server_cpu = time.process_time(), _cpu_s(pid)
    await asyncio.gather(*(worker(latencies) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    server_ms = (_cpu_s(pid) - server_cpu) / n * 1000
    return {
        "n": n,
        "concurrency": concurrency,
        "req_per_s": round(n / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "client_cpu_ms_per_req": round((time.process_time() - cpu) / n * 1000, 2),
        "server_cpu_ms_per_req": round(server_ms, 2),
    }


async def _run(base: str, n: int, concurrency: int, make: Any, pid: int) -> dict[str, float]:
    """Send ``n`` requests with httpx from ``concurrency`` clients; the server's tree is ``pid``."""
    counter = iter(range(n))

    async def worker(latencies: list[float]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for i in counter:
                start = time.perf_counter()
                response = await make(client, i)
                response.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)

    return await _timed(n, concurrency, pid, worker)


class RawHttp:
    """Request bytes for one origin: HTTP/1.1 keep-alive, FHIR JSON, no client library."""

    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self.host, self.port, self.prefix = url.hostname or "127.0.0.1", url.port or 80, url.path
        self._head = f"Host: {self.host}:{self.port}\r\nAccept: application/fhir+json\r\n"

    def get(self, path: str) -> bytes:
        return f"GET {self.prefix}{path} HTTP/1.1\r\n{self._head}\r\n".encode()

    def post(self, path: str, body: bytes) -> bytes:
        head = f"POST {self.prefix}{path} HTTP/1.1\r\n{self._head}"
        head += f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body


RawCall = tuple[bytes, int, Callable[[bytes], None]]
"""The request, the status it must get, and a check of the body (raises when wrong)."""


async def _run_raw(
    raw: RawHttp, n: int, concurrency: int, call: Callable[[int], RawCall], pid: int
) -> dict[str, float]:
    """Send ``n`` requests made by ``call`` over ``concurrency`` raw keep-alive connections.

    A low-CPU client, so that more of the two cores are left to the server: one HTTP/1.1
    connection per worker, one request at a time (no pipelining), the body read by its
    ``Content-Length``. Another status, or a body that fails its check, ends the run.
    """
    counter = iter(range(n))

    async def worker(latencies: list[float]) -> None:
        reader, writer = await asyncio.open_connection(raw.host, raw.port)
        try:
            for i in counter:
                request, expected, check = call(i)
                start = time.perf_counter()
                writer.write(request)
                status, body = await _raw_response(reader)
                latencies.append((time.perf_counter() - start) * 1000)
                if status != expected:
                    raise RuntimeError(f"{request[:80]!r}: {status} {body[:200]!r}")
                check(body)
        finally:
            writer.close()
            await writer.wait_closed()

    return await _timed(n, concurrency, pid, worker)


async def _raw_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response that carries a ``Content-Length``."""
    head = await reader.readuntil(b"\r\n\r\n")
    found = _CONTENT_LENGTH.search(head)
    if found is None:
        raise RuntimeError(f"no Content-Length in {head!r}")
    return int(head[9:12]), await reader.readexactly(int(found.group(1)))


async def _bench(base: str, scale: float, pid: int) -> dict[str, Any]:
    headers = {"Content-Type": "application/fhir+json"}
    reads: list[tuple[str, int]] = []  # (path, body length): a read returns what create did

    def created(body: bytes) -> None:
        reads.append((f"/Observation/{json.loads(body)['id']}", len(body)))

    async def create(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        r = await client.post("/Observation", json=OBS, headers=headers)
        if r.status_code == 201:
            created(r.content)
        return r

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": OBS, "request": {"method": "POST", "url": "Observation"}}] * 100,
    }

    async def tx(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.post("", json=bundle, headers=headers)

    async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(reads[i % len(reads)][0])

    raw = RawHttp(base)
    create_request = raw.post("/Observation", json.dumps(OBS).encode())

    def create_raw(_i: int) -> RawCall:
        return create_request, 201, created

    def read_raw(i: int) -> RawCall:
        path, length = reads[i % len(reads)]

        def check(body: bytes) -> None:
            if len(body) != length:
                raise RuntimeError(f"GET {path}: {len(body)} bytes, not {length}")

        return raw.get(path), 200, check

    # create c16 and read c16 twice: with httpx (as before; about 1 ms and 0.7 ms of client
    # CPU per request, on the server's cores) and with the raw client (about 0.05 ms).
    figures: dict[str, Any] = {}
    figures["create_c1"] = await _run(base, int(300 * scale), 1, create, pid)
    figures["create_c16"] = await _run(base, int(2000 * scale), 16, create, pid)
    figures["create_c16_raw"] = await _run_raw(raw, int(2000 * scale), 16, create_raw, pid)
    t = await _run(base, int(20 * scale), 1, tx, pid)
    t["resources_per_s"] = round(t["req_per_s"] * 100, 1)
    figures["transaction_100"] = t
    figures["read_c16"] = await _run(base, int(5000 * scale), 16, read, pid)
    figures["read_c16_raw"] = await _run_raw(raw, int(5000 * scale), 16, read_raw, pid)
    return figures


def _tree(pid: int) -> list[int]:
    """``pid`` and its direct children (uvicorn's worker processes)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return [pid, *children]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (from /proc)."""
    ticks = 0
    for proc in _tree(pid):
        fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of ``pid`` and its children; ``RssAnon`` leaves out mapped files."""
    total = 0
    for proc in _tree(pid):
        status = Path(f"/proc/{proc}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith(field))
        total += int(line.split()[1])
    return round(total / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "FHIR_SERVER_DATA_DIR": data,
            "FHIR_SERVER_LOG_LEVEL": "warning",
            "FHIR_SERVER_AUTH": "off",  # loopback only
        }
        cmd = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port)]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
        server = subprocess.Popen(cmd, env=env)
        try:
            base = f"http://127.0.0.1:{port}/fhir"
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            figures = asyncio.run(_bench(base, args.scale, server.pid))
            figures["server_rss_mb"] = _rss_mb(server.pid)
            figures["server_rss_anon_mb"] = _rss_mb(server.pid, "RssAnon")
            figures["cpus"] = os.cpu_count()
            figures["load_average_1m"] = round(os.getloadavg()[0], 2)  # other work on the box
            figures["settings"] = {
                "backend": "sqlite",
                "synchronous": "FULL",
                "workers": args.workers,
            }
            print(json.dumps(figures))
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
