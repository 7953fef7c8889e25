"""Run the shared FHIR load generator (fhir_load.py) against ``fhir-server serve`` on SQLite.

Starts the server on a fresh data directory (auth off: loopback only), runs the suggested
protocol of ../shared/bench/README.md (create c1 and c16, transaction Bundles of 100, a bulk
load, count, search, read) and prints fhir_load.py's JSON lines, then one JSON line with the
server's RSS, CPU count and settings. Every step is bounded by ``--max-seconds`` (the search
by ``--search-seconds``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rest_bench import _free_port, _rss_mb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCRIPT = ROOT.parent / "shared" / "bench" / "fhir_load.py"


def _step(scenario: str, n: int, warmup: int, concurrency: int) -> list[str]:
    counts = ["--n", str(n), "--warmup", str(warmup), "--concurrency", str(concurrency)]
    return ["--scenario", scenario, *counts]


def protocol(load_bundles: int) -> list[list[str]]:
    """The scenarios in order, as fhir_load.py arguments."""
    return [
        _step("create-observation", 500, 50, 1),
        _step("create-observation", 2000, 100, 16),
        _step("transaction-bundle", 20, 2, 1),
        _step("transaction-bundle", load_bundles, 4, 4),
        ["--scenario", "count"],
        _step("search", 3000, 10, 8),
        _step("read", 5000, 200, 16),
    ]


def _wait_ready(root: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{root}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become ready in 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load-script", type=Path, default=DEFAULT_SCRIPT)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--load-bundles", type=int, default=1000, help="Bundles of 100 in the bulk load"
    )
    parser.add_argument("--max-seconds", type=int, default=1800, help="bound of each step")
    parser.add_argument("--search-seconds", type=int, default=120, help="bound of the search")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data_dir or Path(scratch)
        env = {
            **os.environ,
            "FHIR_SERVER_DATA_DIR": str(data),
            "FHIR_SERVER_LOG_LEVEL": "warning",
            "FHIR_SERVER_AUTH": "off",  # loopback only
        }
        cmd = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port)]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
        server = subprocess.Popen(cmd, env=env)
        try:
            _wait_ready(root, server)
            for scenario in protocol(args.load_bundles):
                run = [sys.executable, str(args.load_script), "--base", f"{root}/fhir"]
                bound = args.search_seconds if "search" in scenario else args.max_seconds
                run += [*scenario, "--seed", "1", "--max-seconds", str(bound)]
                out = subprocess.run(run, capture_output=True, text=True, check=False)
                print(out.stdout.strip() or json.dumps({"scenario": scenario, "error": out.stderr}))
                sys.stdout.flush()
            settings = {"backend": "sqlite", "synchronous": "FULL", "workers": args.workers}
            summary = {
                "server_rss_mb": _rss_mb(server.pid),
                # RSS counts the database's mmap once per reader connection; RssAnon does not
                "server_rss_anon_mb": _rss_mb(server.pid, "RssAnon"),
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
            print(json.dumps({**summary, "settings": settings}))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
