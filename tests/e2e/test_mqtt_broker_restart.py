"""MQTT ingestion survives a broker restart and a server restart (private Mosquitto).

QoS 1 messages published while the server is disconnected wait in its persistent session
on the broker and are delivered after the reconnect.
"""

from __future__ import annotations

import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.server import ServerProcess, free_port, running_server

MOSQUITTO = shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin:/usr/bin")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed"),
]
RECONNECT_TIMEOUT = 30.0  # the server's paho back-off is 1..10 s


@dataclass
class Broker:
    """A private Mosquitto with a persistent store, restartable on the same port."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until the port accepts connections."""
        config = self.directory / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.directory}/\n"
            "autosave_interval 1\n"
            f"user {getpass.getuser()}\n"  # as root: keep root, which owns the directory
        )
        with (self.directory / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        _wait_for(self._listening, 10.0, self.log)

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its store) and wait; SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        """What the broker printed so far."""
        return (self.directory / "mosquitto.log").read_text(errors="replace")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.process.returncode}:\n{self.log()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    directory = tmp_path / "broker"
    directory.mkdir()
    private = Broker(directory, free_port())
    try:
        private.start()
        yield private
    finally:
        private.stop()


def _wait_for(check: Callable[[], bool], timeout: float, explain: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout} s\n{explain()}")


def _publish(port: int, topic: str, payload: bytes) -> None:
    """Publish at QoS 1 and wait for the PUBACK; connecting is retried for 10 s."""
    connected = threading.Event()

    def on_connect(*_args: Any) -> None:
        connected.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.on_connect = on_connect
    deadline = time.monotonic() + 10
    while True:
        try:
            client.connect("127.0.0.1", port, keepalive=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    client.loop_start()
    try:
        assert connected.wait(10), "publisher not connected"
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), "no PUBACK from the broker"
    finally:
        client.disconnect()
        client.loop_stop()


def _cgm(value: int) -> bytes:
    """A GlucoStream upload with one reading; ``value`` also picks its time and upload id."""
    reading = {"systemTime": 1_711_094_400_000 + value * 300_000, "value": value, "unit": "mg/dL"}
    body = {
        "type": "egv-upload",
        "uploadId": f"restart-{value}",
        "transmitterId": "RESTART1",
        "subject": {"mrn": "PATID1234"},
        "egvs": [reading],
    }
    return json.dumps(body).encode()


def _readings(server: ServerProcess, value: int) -> int:
    response = httpx.get(
        f"{server.base_url}/Observation",
        params={"value-quantity": str(value), "_summary": "count"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _delivered(server: ServerProcess, broker: Broker, value: int, timeout: float) -> None:
    def explain() -> str:
        return f"--- server log\n{server.log()}\n--- broker log\n{broker.log()}"

    _wait_for(lambda: _readings(server, value) > 0, timeout, explain)


def test_subscriber_resumes_after_broker_and_server_restarts(
    broker: Broker, tmp_path: Path
) -> None:
    topic = f"restart-{uuid.uuid4().hex[:8]}"
    url, route = f"mqtt://127.0.0.1:{broker.port}", f"{topic}/#=device-templates"
    args = ("--mqtt-url", url, "--mqtt-topic", route)
    env = {
        "FHIR_SERVER_MQTT_CLIENT_ID": f"fhir-server-{topic}",
        "FHIR_SERVER_INGEST_UNKNOWN_PATIENT": "placeholder",
    }
    data_dir = tmp_path / "server"
    with running_server(data_dir, args=args, env=env) as server:
        # the server subscribes in the background: republish (harmless) until it is stored
        deadline = time.monotonic() + 20
        while _readings(server, 101) == 0:
            assert time.monotonic() < deadline, f"first reading never stored\n{server.log()}"
            _publish(broker.port, f"{topic}/cgm", _cgm(101))
            time.sleep(1)

        broker.stop()
        broker.start()
        _publish(broker.port, f"{topic}/cgm", _cgm(102))  # queued if not yet reconnected
        _delivered(server, broker, 102, RECONNECT_TIMEOUT)

        server.stop()
        _publish(broker.port, f"{topic}/cgm", _cgm(103))  # queued in the server's session

    with running_server(data_dir, args=args, env=env) as restarted:
        _delivered(restarted, broker, 103, RECONNECT_TIMEOUT)
        assert [_readings(restarted, v) for v in (101, 102, 103)] == [1, 1, 1]
