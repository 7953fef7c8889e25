"""Load vital-sign Observations into SQLite, start the server, and time searches over HTTP.

The data: ``--patients`` Patients and ``--observations`` Observations (5 vital-sign codes,
spread evenly over ``--days`` days), bulk-loaded through the store and the search-index
extractor (no HTTP on the write side), then searched at ``--concurrency`` by:

* ``patient_code_date``: ``subject`` + ``code`` + a 3-day ``date`` range (the floor: p95 under
  50 ms at concurrency 8);
* ``last_updated_paging``: a ``_lastUpdated`` range read to the end with ``_count=100``,
  following ``next`` links (one request per page);
* ``code_value_quantity``: ``code-value-quantity`` above a threshold (about 1% match);
* ``include_subject``: ``subject`` + ``code`` with ``_include=Observation:subject``;
* ``has_reverse_chain``: ``Patient?_has:Observation:subject:code-value-quantity=...``.

Prints one JSON document: load time, database size, the SQL plans, the 1/5/15-minute load
averages before and after the searches (other work on the machine moves every figure),
and per scenario p50, p95, p99 (ms) and req/s, measured after ``--warmup`` unmeasured
requests of the same scenario (the steady state of a running server, whose SQLite page
caches are then filled). Every loop is bounded; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from fhir_server.core.meta import stamp
from fhir_server.core.ports import VersionWrite
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.storage.sqlite.store import SqliteResourceStore

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITALS = (  # code, display, unit, low, high
    ("8867-4", "Heart rate", "/min", 50, 130),
    ("9279-1", "Respiratory rate", "/min", 10, 30),
    ("8310-5", "Body temperature", "Cel", 35.5, 40.0),
    ("2708-6", "Oxygen saturation", "%", 85, 100),
    ("29463-7", "Body weight", "kg", 40, 120),
)
START = datetime(2024, 1, 1, tzinfo=UTC)
LOADED = datetime(2024, 2, 1, tzinfo=UTC)
"""lastUpdated of the first loaded resource; each next one is a millisecond later."""
BATCH = 5000


def _observation(k: int, patients: int, step: timedelta, rng: random.Random) -> dict[str, Any]:
    code, display, unit, low, high = VITALS[(k // patients) % len(VITALS)]
    effective = START + step * (k // (patients * len(VITALS)))
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
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/p{k % patients}"},
        "effectiveDateTime": effective.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valueQuantity": {
            "value": round(rng.uniform(low, high), 1),
            "unit": unit,
            "system": UCUM,
            "code": unit,
        },
    }


def _patient(i: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bench:mrn", "value": str(i)}],
        "name": [{"family": f"Family{i}", "given": ["Bench"]}],
        "gender": "female" if i % 2 else "male",
        "birthDate": f"{1940 + i % 60}-01-01",
    }


def _writes(args: argparse.Namespace, engine: RegistrySearchEngine) -> Iterator[VersionWrite]:
    rng = random.Random(7)
    per_slot = args.patients * len(VITALS)
    step = timedelta(days=args.days) / max(1, args.observations // per_slot)
    bodies = [(f"p{i}", _patient(i)) for i in range(args.patients)]
    bodies_obs = (
        (f"o{k}", _observation(k, args.patients, step, rng)) for k in range(args.observations)
    )
    for n, (id, body) in enumerate(chain(bodies, bodies_obs)):
        instant = LOADED + timedelta(milliseconds=n)
        content = stamp(body, id, 1, instant)
        index = engine.extract({**body, "id": id})
        yield VersionWrite(body["resourceType"], id, 1, instant, "PUT", content, 0, index)


def load(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """Bulk-load the data set; its figures."""
    engine = RegistrySearchEngine.default(1000, 20)
    store = SqliteResourceStore(path, synchronous="OFF")
    started = time.perf_counter()
    batch: list[VersionWrite] = []
    for write in _writes(args, engine):
        batch.append(write)
        if len(batch) == BATCH:
            store.write(batch)
            batch = []
    if batch:
        store.write(batch)
    store.close()
    elapsed = time.perf_counter() - started
    conn = sqlite3.connect(str(path))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    total = args.observations + args.patients
    return {
        "resources": total,
        "load_s": round(elapsed, 1),
        "load_resources_per_s": round(total / elapsed, 1),
        "db_mb": round(size / 2**20, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


Make = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _run(base: str, n: int, concurrency: int, make: Make) -> dict[str, Any]:
    latencies: list[float] = []
    matches: list[int] = []
    counter = iter(range(n))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for i in counter:
                start = time.perf_counter()
                response = await make(client, i)
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
                body = response.json()
                matches.append(
                    sum(1 for e in body.get("entry", ()) if e["search"]["mode"] == "match")
                )

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": n,
        "concurrency": concurrency,
        "req_per_s": round(n / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "mean_matches_per_page": round(sum(matches) / len(matches), 1),
    }


def _queries(args: argparse.Namespace) -> dict[str, Callable[[int], str]]:
    rng = random.Random(11)
    patients, days = args.patients, args.days

    def patient_code_date(_i: int) -> str:
        day = START + timedelta(days=rng.randrange(max(1, days - 3)))
        code = rng.choice(VITALS)[0]
        return (
            f"Observation?subject=Patient/p{rng.randrange(patients)}&code={LOINC}|{code}"
            f"&date=ge{day:%Y-%m-%d}&date=lt{day + timedelta(days=3):%Y-%m-%d}"
        )

    def code_value_quantity(_i: int) -> str:
        return f"Observation?code-value-quantity={LOINC}|8867-4$gt{129 + rng.random() * 0.8:.1f}"

    def include_subject(_i: int) -> str:
        code = rng.choice(VITALS)[0]
        return (
            f"Observation?subject=Patient/p{rng.randrange(patients)}&code={code}"
            "&_include=Observation:subject"
        )

    def has_reverse_chain(_i: int) -> str:
        return f"Patient?_has:Observation:subject:code-value-quantity={LOINC}|8867-4$gt129.8"

    return {
        "patient_code_date": patient_code_date,
        "code_value_quantity": code_value_quantity,
        "include_subject": include_subject,
        "has_reverse_chain": has_reverse_chain,
    }


def _getter(query: Callable[[int], str]) -> Make:
    async def make(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"/{query(i)}")

    return make


def _paging(args: argparse.Namespace) -> tuple[Make, int]:
    """Pages of ``_lastUpdated`` windows of ``--page-window`` resources, read to the end."""
    rng = random.Random(13)
    window = min(args.page_window, args.observations)
    pending: list[str] = []

    def first() -> str:
        offset = args.patients + rng.randrange(max(1, args.observations - window))
        low = LOADED + timedelta(milliseconds=offset)
        high = low + timedelta(milliseconds=window)
        return (
            f"/Observation?_lastUpdated=ge{low:%Y-%m-%dT%H:%M:%S.%f}Z"
            f"&_lastUpdated=lt{high:%Y-%m-%dT%H:%M:%S.%f}Z&_count=100"
        )

    async def make(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        url = pending.pop() if pending else first()
        response = await client.get(url)
        for link in response.json().get("link", ()):
            if link["relation"] == "next":
                parts = urlsplit(link["url"])
                pending.append(f"{parts.path.removeprefix('/fhir')}?{parts.query}")
        return response

    return make, window


def _plans(path: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    engine = RegistrySearchEngine.default(1000, 20)
    store = SqliteResourceStore(path)
    plans = {}
    samples = {name: q(0) for name, q in _queries(args).items()}
    samples["last_updated_paging"] = (
        "Observation?_lastUpdated=ge2024-02-01T00:00:01Z&_lastUpdated=lt2024-02-01T00:00:02Z"
        "&_count=100"
    )
    for name, query in samples.items():
        resource_type, _, text = query.partition("?")
        parsed, _ = engine.parse([resource_type], parse_qsl(text), strict=True)
        plans[name] = store.explain(parsed).split("-- plan:\n", 1)[1].splitlines()
    store.close()
    return plans


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _bench(base: str, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    chosen = set(args.scenarios.split(",")) if args.scenarios else None
    for name, query in _queries(args).items():
        if chosen is not None and name not in chosen:
            continue
        if args.warmup:  # steady state: each server thread's SQLite page cache filled
            await _run(base, args.warmup, args.concurrency, _getter(query))
        figures[name] = await _run(base, args.requests, args.concurrency, _getter(query))
    if chosen is None or "last_updated_paging" in chosen:
        make, window = _paging(args)
        figures["last_updated_paging"] = await _run(base, args.requests, args.concurrency, make)
        figures["last_updated_paging"]["window"] = window
    return figures


def serve_and_measure(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """Start the server on the loaded database and run every scenario."""
    port = _free_port()
    env = {
        **os.environ,
        "FHIR_SERVER_DATA_DIR": str(path.parent),
        "FHIR_SERVER_DATABASE_URL": f"sqlite:///{path}",
        "FHIR_SERVER_LOG_LEVEL": "warning",
        "FHIR_SERVER_AUTH": "off",  # loopback only
    }
    cmd = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port)]
    cmd += ["--workers", str(args.workers)]
    server = subprocess.Popen(cmd, env=env)
    try:
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return asyncio.run(_bench(f"http://127.0.0.1:{port}/fhir", args))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--warmup", type=int, default=400, help="unmeasured requests before each scenario"
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--page-window", type=int, default=1000, help="resources per paging run")
    parser.add_argument("--scenarios", default="", help="comma-separated subset to run")
    parser.add_argument("--db", type=Path, default=None, help="reuse (or keep) this database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "fhir.db"
        figures: dict[str, Any] = {"observations": args.observations, "patients": args.patients}
        if not path.exists():
            figures["load"] = load(args, path)
        figures["plans"] = _plans(path, args)
        figures["load_average_before"] = [round(v, 2) for v in os.getloadavg()]
        figures["search"] = serve_and_measure(args, path)
        figures["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        figures["cpus"] = os.cpu_count()
        figures["settings"] = {
            "backend": "sqlite",
            "workers": args.workers,
            "warmup": args.warmup,
            "requests": args.requests,
        }
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
