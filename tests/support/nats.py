"""Real nats-server processes for tests: each on free ports, JetStream storage in a tmp dir,
a JetStream domain named for the data center (region) it stands for, or none when one server
stands for every region. Two can be linked over a
leafnode, as two data centers are. Stopping one is a real stop (the process ends); starting
it again reuses its ports and storage, as a server back from an outage does. A missing
binary fails the test: it is never skipped."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import free_port

BINARY = os.environ.get("NATS_SERVER", shutil.which("nats-server") or "/usr/sbin/nats-server")


class NatsServer:
    def __init__(self, root: Path, name: str, *, domain: bool = True, hub: NatsServer | None = None):
        if not Path(BINARY).exists():
            pytest.fail(f"nats-server is needed for the broker tests and was not found at {BINARY} (set NATS_SERVER)")
        self.name = name
        self.port, self.leaf_port = free_port(), free_port()
        self.directory = root / name
        self.directory.mkdir(parents=True, exist_ok=True)
        remotes = f'remotes: [{{url: "nats-leaf://127.0.0.1:{hub.leaf_port}"}}]' if hub else ""
        self.config = self.directory / "server.conf"
        self.config.write_text(f"""
server_name: {name}
listen: 127.0.0.1:{self.port}
jetstream {{ store_dir: "{self.directory / 'js'}", {f"domain: {name}" if domain else ""} }}
leafnodes {{ listen: 127.0.0.1:{self.leaf_port}
  reconnect: 1
  {remotes} }}
""")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        log = open(self.directory / "server.log", "ab")
        self.process = subprocess.Popen([BINARY, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"nats-server {self.name} exited: {(self.directory / 'server.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"nats-server {self.name} did not listen on {self.port} within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def nats_server(tmp_path):
    """One broker standing for every region (the shape of a one-site deployment)."""
    server = NatsServer(tmp_path, "cpu", domain=False).start()
    yield server
    server.stop()


@pytest.fixture
def linked_brokers(tmp_path):
    """Two data centers: kin's broker, and sdq's linked to it by a leafnode."""
    kin = NatsServer(tmp_path, "kin").start()
    sdq = NatsServer(tmp_path, "sdq", hub=kin).start()
    yield kin, sdq
    sdq.stop()
    kin.stop()
