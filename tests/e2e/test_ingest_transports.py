"""Ingestion end to end: a real server fed over MLLP, MQTT (Mosquitto) and HTTP."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.publish as publish
import pytest

from tests.support.server import ServerProcess, free_port, running_server

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


def _mllp(port: int, *messages: bytes) -> list[str]:
    acks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for message in messages:
            sock.sendall(b"\x0b" + message + b"\x1c\x0d")
            buffer = b""
            while not buffer.endswith(b"\x1c\x0d"):
                chunk = sock.recv(65536)
                assert chunk, "connection closed before the ACK"
                buffer += chunk
            acks.append(buffer[1:-2].decode())
    return acks


def _msa(ack: str) -> str:
    return next(line for line in ack.split("\r") if line.startswith("MSA")).split("|")[1]


def _total(server: ServerProcess | IngestServer, query: str) -> int:
    separator = "&" if "?" in query else "?"
    response = httpx.get(f"{server.base_url}/{query}{separator}_summary=count")
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _versions(server: IngestServer) -> int:
    response = httpx.get(f"{server.base_url}/_history", params={"_count": "1000"})
    return len(response.json().get("entry", []))


def _wait_for(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def topic() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@dataclass
class IngestServer:
    http: ServerProcess
    mllp_port: int

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def root_url(self) -> str:
        return self.http.root_url


@pytest.fixture(scope="module")
def ingest_server(tmp_path_factory: pytest.TempPathFactory, topic: str) -> Iterator[IngestServer]:
    data_dir = tmp_path_factory.mktemp("ingest")
    mllp = free_port()
    args = ("--mllp-port", str(mllp), "--mqtt-url", "mqtt://127.0.0.1:1883")
    args += ("--mqtt-topic", f"{topic}/#=device-templates")
    env = {"FHIR_SERVER_MQTT_CLIENT_ID": f"fhir-server-{topic}"}
    with running_server(data_dir, args=args, env=env) as server:
        yield IngestServer(server, mllp)


def test_mllp_adt_then_oru_become_searchable_and_redelivery_adds_nothing(
    ingest_server: IngestServer,
) -> None:
    port = ingest_server.mllp_port
    adt, oru = _fixture("hl7v2/adt_a01_v251.hl7"), _fixture("hl7v2/oru_r01_lab_v251.hl7")
    assert [_msa(a) for a in _mllp(port, adt, oru)] == ["AA", "AA"]
    assert _total(ingest_server, "Patient?identifier=PATID1234") == 1
    observations, versions = _total(ingest_server, "Observation"), _versions(ingest_server)
    assert observations > 0
    assert [_msa(a) for a in _mllp(port, adt, oru)] == ["AA", "AA"]
    assert _total(ingest_server, "Observation") == observations
    assert _versions(ingest_server) == versions


def test_mllp_mapping_failure_is_ae_and_a_listed_dead_letter(ingest_server: IngestServer) -> None:
    port = ingest_server.mllp_port
    (ack,) = _mllp(port, _fixture("hl7v2/oru_r01_truncated.hl7"))
    assert _msa(ack) == "AE"
    assert "ERR|" in ack
    listed = httpx.get(f"{ingest_server.root_url}/ingest/dead-letters").json()
    assert any(m["error"]["code"] == "required-missing" for m in listed["messages"])


def test_http_vendor_batch_is_written_once(ingest_server: IngestServer) -> None:
    url = f"{ingest_server.root_url}/ingest/device-templates"
    body = _fixture("devices/pulsewave_batch.json")
    headers = {"Content-Type": "application/json"}
    first = httpx.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "processed"
    total = _total(ingest_server, "Observation")
    again = httpx.post(url, content=body, headers=headers)
    assert again.json()["duplicate"] is True
    assert _total(ingest_server, "Observation") == total
    assert _total(ingest_server, "Device?identifier=urn:pulsewave:device-serial|PW3-7F3A21") == 1


def test_http_errors_are_operation_outcomes(ingest_server: IngestServer) -> None:
    root = ingest_server.root_url
    unknown = httpx.post(f"{root}/ingest/no-such-mapper", content=b"{}")
    assert unknown.status_code == 404
    dead = httpx.post(
        f"{root}/ingest/device-templates",
        content=b'{"shape": "unknown"}',
        headers={"Content-Type": "application/json"},
    )
    assert dead.status_code == 422
    assert dead.json()["resourceType"] == "OperationOutcome"


@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")
def test_mqtt_device_payload_becomes_searchable(ingest_server: IngestServer, topic: str) -> None:
    cgm = json.loads(_fixture("devices/glucostream_egvs.json"))
    payload = json.dumps(cgm).encode()
    before = _total(ingest_server, "Observation")
    publish.single(f"{topic}/cgm", payload, qos=1, hostname="127.0.0.1", port=1883)
    _wait_for(lambda: _total(ingest_server, "Observation") > before)
    after = _total(ingest_server, "Observation")
    publish.single(f"{topic}/cgm", payload, qos=1, hostname="127.0.0.1", port=1883)
    time.sleep(0.5)
    assert _total(ingest_server, "Observation") == after


def _oru(i: int) -> bytes:
    when = f"2024010112{i % 60:02d}00"
    obx = f"OBX|1|NM|8867-4^Heart rate^LN|1|{60 + i % 40}|/min^^UCUM|||||F|||{when}\r"
    return (
        f"MSH|^~\\&|KILLTEST|WARD|FHIR|HOSP|20240101120000||ORU^R01|K{i}|P|2.5.1\r"
        "PID|||PATID1234^^^GHH&1.2.840.114350.1.13.99998.8734&ISO^MR\r"
        f"OBR|1||KR{i}|85354-9^BP^LN|||20240101120000\r{obx}"
    ).encode()


def test_sigkill_mid_stream_loses_no_acknowledged_message(tmp_path: Path) -> None:
    mllp = free_port()
    args = ("--mllp-port", str(mllp))
    acknowledged: list[int] = []
    server = running_server(tmp_path, args=args)
    with server as first:
        _mllp(mllp, _fixture("hl7v2/adt_a01_v251.hl7"))
        with socket.create_connection(("127.0.0.1", mllp), timeout=10) as sock:
            for i in range(40):
                if i == 25:
                    first.kill()
                try:
                    sock.sendall(b"\x0b" + _oru(i) + b"\x1c\x0d")
                    buffer = b""
                    while not buffer.endswith(b"\x1c\x0d"):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                except OSError:  # reset by the killed server
                    break
                if not buffer.endswith(b"\x1c\x0d"):
                    break
                assert "MSA|AA" in buffer.decode()
                acknowledged.append(i)
    assert 0 < len(acknowledged) < 40
    with running_server(tmp_path, args=args) as second:
        # message i carries the heart rate 60 + i: each acknowledged one is searchable
        for i in acknowledged:
            assert _total(second, f"Observation?value-quantity={60 + i}") == 1, i
