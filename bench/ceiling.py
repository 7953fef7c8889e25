"""The ceiling of this machine: a hello-world FastAPI app under rest_bench.py's own client.

Serves a minimal FastAPI app with uvicorn (same loop, parser and single worker as
``fhir-server serve``) whose POST parses the JSON body and answers 201 with a 600-byte body,
and whose GET answers 200 with the same bytes; then runs rest_bench.py's client at
concurrency 16. The figures bound what any FastAPI server can do here while the load
generator shares the cores. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import orjson
from fastapi import FastAPI, Request
from rest_bench import OBS, _free_port, _run
from starlette.responses import Response

BODY = orjson.dumps({**OBS, "id": "x" * 36, "meta": {"versionId": "1"}}).ljust(600)


def hello_app() -> FastAPI:
    """POST /fhir/Observation and GET /fhir/Observation/{id}, doing no FHIR work."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/fhir/Observation")
    async def create(request: Request) -> Response:
        orjson.loads(await request.body())
        return Response(BODY, status_code=201, media_type="application/fhir+json")

    @app.get("/fhir/Observation/{id}")
    def read(id: str) -> Response:  # noqa: ARG001 (the path parameter)
        return Response(BODY, media_type="application/fhir+json")

    return app


async def _bench(base: str, n: int, pid: int) -> dict[str, object]:
    headers = {"Content-Type": "application/fhir+json"}

    async def create(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.post("/Observation", json=OBS, headers=headers)

    async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"/Observation/{i}")

    return {
        "hello_create_c16": await _run(base, n, 16, create, pid),
        "hello_read_c16": await _run(base, n, 16, read, pid),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000, help="requests per scenario")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvicorn

        uvicorn.run(hello_app(), host="127.0.0.1", port=args.port, log_level="warning")
        return 0
    port = _free_port()
    cmd = [sys.executable, __file__, "--serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=os.environ.copy())
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/fhir/Observation/1", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        figures = asyncio.run(_bench(f"http://127.0.0.1:{port}/fhir", args.n, server.pid))
        figures["cpus"] = os.cpu_count()
        print(json.dumps(figures))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
