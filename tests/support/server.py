"""Start a real ``fhir-server serve`` process for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class ServerProcess:
    """A running server: its FHIR base URL, process and log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def root_url(self) -> str:
        """The URL without the ``/fhir`` suffix."""
        return self.base_url.removesuffix("/fhir")

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to flush anything."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait for a graceful exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def _command() -> list[str]:
    script = shutil.which("fhir-server", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-m", "fhir_server.cli"]


def start_server(
    data_dir: Path,
    *,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    timeout: float = 30.0,
) -> ServerProcess:
    """Start ``fhir-server serve`` on a free loopback port and wait until it is ready.

    Auth is off (loopback only) unless ``env`` sets ``FHIR_SERVER_AUTH``.
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "FHIR_SERVER_DATA_DIR": str(data_dir),
        "FHIR_SERVER_AUTH": "off",
        **(env or {}),
    }
    log_path = data_dir / f"server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}/fhir", process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.root_url}/health/ready", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready after {timeout} s:\n{server.log()}")


@contextmanager
def running_server(data_dir: Path, **kwargs: object) -> Iterator[ServerProcess]:
    """``start_server`` as a context manager that always stops the process."""
    server = start_server(data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
