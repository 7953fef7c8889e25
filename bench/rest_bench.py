"""Start the server on a fresh SQLite database and print JSON figures for the write/read path.

Measures POST Observation at concurrency 1 and 16, a transaction Bundle of 100 Observations,
GET by id, and the server's RSS. Every loop is bounded; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


async def _run(base: str, n: int, concurrency: int, make: Any) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for i in counter:
                start = time.perf_counter()
                response = await make(client, i)
                response.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "n": n,
        "concurrency": concurrency,
        "req_per_s": round(n / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
    }


async def _bench(base: str, scale: float) -> dict[str, Any]:
    headers = {"Content-Type": "application/fhir+json"}
    ids: list[str] = []

    async def create(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        r = await client.post("/Observation", json=OBS, headers=headers)
        if r.status_code == 201:
            ids.append(r.json()["id"])
        return r

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": OBS, "request": {"method": "POST", "url": "Observation"}}] * 100,
    }

    async def tx(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.post("", json=bundle, headers=headers)

    async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"/Observation/{ids[i % len(ids)]}")

    figures: dict[str, Any] = {}
    figures["create_c1"] = await _run(base, int(300 * scale), 1, create)
    figures["create_c16"] = await _run(base, int(2000 * scale), 16, create)
    t = await _run(base, int(20 * scale), 1, tx)
    t["resources_per_s"] = round(t["req_per_s"] * 100, 1)
    figures["transaction_100"] = t
    figures["read_c16"] = await _run(base, int(5000 * scale), 16, read)
    return figures


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS"))
    return round(int(line.split()[1]) / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "FHIR_SERVER_DATA_DIR": data, "FHIR_SERVER_LOG_LEVEL": "warning"}
        cmd = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port)]
        server = subprocess.Popen(cmd, env=env)
        try:
            base = f"http://127.0.0.1:{port}/fhir"
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            figures = asyncio.run(_bench(base, args.scale))
            figures["server_rss_mb"] = _rss_mb(server.pid)
            figures["cpus"] = os.cpu_count()
            figures["settings"] = {"backend": "sqlite", "synchronous": "FULL"}
            print(json.dumps(figures))
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
