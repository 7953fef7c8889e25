"""Start the server on SQLite in a temp dir with MLLP and MQTT; print one JSON object.

Figures: MLLP ORU^R01 messages/s (5 OBX each, ACK awaited, several connections), HTTP
device readings/s (vendor batches), MQTT readings/s, and latency from send/publish to a
searchable Observation (p50/p99). Traffic stays on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

CODES = ("8867-4", "8480-6", "8462-4", "59408-5", "9279-1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _oru(i: int) -> bytes:
    when = f"20240101{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}"
    obx = "".join(
        f"OBX|{k + 1}|NM|{code}^^LN|{k + 1}|{60 + k}|/min^^UCUM|||||F|||{when}\r"
        for k, code in enumerate(CODES)
    )
    return (
        f"MSH|^~\\&|BENCH|WARD|FHIR|HOSP|20240101000000||ORU^R01|B{i}|P|2.5.1\r"
        f"PID|||P{i % 50}^^^HOSP^MR||Doe^John\rOBR|1||R{i}|85354-9^Vitals^LN|||20240101000000\r"
        + obx
    ).encode()


def _cgm(transmitter: str, start: int, n: int) -> bytes:
    """A GlucoStream CGM upload of ``n`` readings (5 minutes apart) starting at ``start``."""
    base_ms = 1_700_000_000_000
    readings = [
        {"systemTime": base_ms + (start + k) * 300_000, "value": 100 + k % 50, "unit": "mg/dL"}
        for k in range(n)
    ]
    body = {
        "type": "egv-upload",
        "uploadId": f"{transmitter}-{start}",
        "transmitterId": transmitter,
        "subject": {"mrn": "BENCH-1"},
        "egvs": readings,
    }
    return json.dumps(body).encode()


def _mllp_send(port: int, messages: list[bytes]) -> list[float]:
    latencies = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for message in messages:
            started = time.perf_counter()
            sock.sendall(b"\x0b" + message + b"\x1c\x0d")
            buffer = b""
            while not buffer.endswith(b"\x1c\x0d"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("MLLP connection closed")
                buffer += chunk
            if b"MSA|AA" not in buffer:
                raise RuntimeError(buffer.decode(errors="replace"))
            latencies.append(time.perf_counter() - started)
    return latencies


def _mllp_rate(port: int, count: int, connections: int) -> dict[str, Any]:
    batches = [[_oru(i) for i in range(c, count, connections)] for c in range(connections)]
    results: list[list[float]] = [[] for _ in batches]

    def run(index: int) -> None:
        results[index] = _mllp_send(port, batches[index])

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    acks = sorted(x for r in results for x in r)
    return {
        "messages": count,
        "connections": connections,
        "messages_per_s": round(count / elapsed, 1),
        "observations_per_s": round(count * len(CODES) / elapsed, 1),
        "ack_p50_ms": round(acks[len(acks) // 2] * 1000, 1),
        "ack_p99_ms": round(acks[int(len(acks) * 0.99)] * 1000, 1),
    }


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _with_server_cpu(
    pid: int, run: Callable[[], dict[str, Any]], key: str, per: float
) -> dict[str, Any]:
    """``run``'s figures plus ``key``: the server's CPU seconds over the run divided by ``per``.

    With the rate it shows whether the server was CPU-bound (CPU x rate close to one core),
    and it does not move with the client's share of the cores.
    """
    before = _cpu_seconds(pid)
    figures = run()
    figures[key] = round((_cpu_seconds(pid) - before) / per, 3)
    return figures


def _total(base: str, query: str) -> int:
    response = httpx.get(f"{base}/fhir/{query}", params={"_summary": "count"}, timeout=30)
    total: int = response.json()["total"]
    return total


def _http_rate(base: str, batches: int, size: int, clients: int = 1) -> dict[str, Any]:
    """``batches`` device uploads of ``size`` readings from ``clients`` uploaders at once."""

    def upload(first: int) -> None:
        with httpx.Client(timeout=60) as client:
            for b in range(first, batches, clients):
                response = client.post(
                    f"{base}/ingest/device-templates",
                    content=_cgm(f"CGM-HTTP-{clients}", b * size, size),
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()

    started = time.perf_counter()
    threads = [threading.Thread(target=upload, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "batches": batches,
        "readings_per_batch": size,
        "clients": clients,
        "readings_per_s": round(batches * size / elapsed, 1),
    }


def _wait_total(base: str, expected: int, timeout: float) -> float:
    """Poll until at least ``expected`` Observations are searchable; the time then."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if _total(base, "Observation") >= expected:
            return time.perf_counter()
        time.sleep(0.002)
    raise RuntimeError(f"fewer than {expected} Observations after {timeout} s")


def _publish(messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait for every PUBACK (one connection, closed cleanly)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise RuntimeError("the broker did not acknowledge a publish in 60 s")
    finally:
        client.disconnect()
        client.loop_stop()


def _mqtt_rate(base: str, topic: str, batches: int, size: int) -> dict[str, Any]:
    transmitter = f"MQ{uuid.uuid4().hex[:6]}"
    before = _total(base, "Observation")
    messages = [(f"{topic}/cgm", _cgm(transmitter, b * size, size)) for b in range(batches)]
    started = time.perf_counter()
    _publish(messages)
    elapsed = _wait_total(base, before + batches * size, 120) - started
    return {
        "batches": batches,
        "readings_per_batch": size,
        "readings_per_s": round(batches * size / elapsed, 1),
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def _latency(base: str, mllp_port: int, topic: str, samples: int) -> dict[str, Any]:
    """Send one message, poll until its Observations are searchable; repeat."""
    mllp, mqtt = [], []
    transmitter = f"LT{uuid.uuid4().hex[:6]}"
    for s in range(samples):
        before = _total(base, "Observation")
        started = time.perf_counter()
        _mllp_send(mllp_port, [_oru(500_000 + s)])
        mllp.append(_wait_total(base, before + len(CODES), 10) - started)
        started = time.perf_counter()
        _publish([(f"{topic}/cgm", _cgm(transmitter, s, 1))])
        mqtt.append(_wait_total(base, before + len(CODES) + 1, 10) - started)
    return {
        "samples": samples,
        "mllp_send_to_searchable": _summary(mllp),
        "mqtt_publish_to_searchable": _summary(mqtt),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--oru", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    port, mllp_port = _free_port(), _free_port()
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "FHIR_SERVER_DATA_DIR": str(data_dir),
        "FHIR_SERVER_AUTH": "off",
        "FHIR_SERVER_LOG_LEVEL": "warning",
        "FHIR_SERVER_INGEST_UNKNOWN_PATIENT": "placeholder",
        "FHIR_SERVER_MQTT_CLIENT_ID": f"fhir-server-{topic}",
    }
    command = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port)]
    command += ["--mllp-port", str(mllp_port), "--mqtt-url", "mqtt://127.0.0.1:1883"]
    command += ["--mqtt-topic", f"{topic}/#=device-templates"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        _mllp_send(mllp_port, [_oru(999_999)])  # warm-up: loads the mappers
        figures = {
            "machine": {"cpus": os.cpu_count()},
            "mllp_oru_r01": _with_server_cpu(
                server.pid,
                lambda: _mllp_rate(mllp_port, args.oru, args.connections),
                "server_cpu_ms_per_message",
                args.oru / 1000,
            ),
            "http_device_batches": _with_server_cpu(
                server.pid, lambda: _http_rate(base, 40, 100), "server_cpu_us_per_reading", 4000e-6
            ),
            "http_device_batches_4_clients": _http_rate(base, 40, 100, clients=4),
            "mqtt_device_batches": _mqtt_rate(base, topic, 40, 100),
            "latency": _latency(base, mllp_port, topic, args.samples),
        }
        print(json.dumps(figures, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
