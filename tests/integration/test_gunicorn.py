"""The server as `make run` starts it: real gunicorn processes from the repository's folder, so
they read its gunicorn.conf.py. Two copies side by side, each from its own instance folder,
and what gunicorn itself answers to requests it refuses before the app sees them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gunicorn.ctl.client import ControlClient

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


class Server:
    """One gunicorn copy, serving the app from its own instance folder, on its own port."""

    def __init__(self, instance: Path, home: Path, log: Path):
        self.instance = instance
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_", "XDG_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            HOME=str(home),  # gunicorn's per-user default socket, kept out of the real home
            CPU_INSTANCE_PATH=str(instance),
            CPU_SCHEMA_CHECK="false",  # the copies serve /healthz; no database is needed
            CPU_RELAY_IN_PROCESS="false",
            CPU_LOG_LEVEL="WARNING",
        )
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                 "--threads", "2", "wsgi:app"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.log = log

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if _get(self.port, "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not serve within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    servers = []
    try:
        for name in ("a", "b"):
            folder = tmp_path_factory.mktemp(f"instance-{name}")
            servers.append(Server(folder, home, folder.parent / f"gunicorn-{name}.log"))
        for server in servers:
            server.wait_until_serving()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_two_copies_side_by_side_serve_and_each_answers_on_its_own_control_socket(two_copies):
    for server in two_copies:
        assert _get(server.port, "/healthz").status == 200
        socket_path = server.instance / "gunicorn.ctl"
        assert socket_path.is_socket(), f"no control socket in {server.instance}"
        with ControlClient(str(socket_path), timeout=10) as control:
            assert control.send_command("show stats")["pid"] == server.process.pid


@pytest.mark.parametrize("path, headers, status", [
    ("/api/v1/search?q=" + "a" * 9000, {}, 414),  # over gunicorn's request line limit
    ("/api/v1/search?q=coffee", {"X-Long": "a" * 9000}, 431),  # over its header field size limit
])
def test_requests_gunicorn_refuses_itself_get_guarded_problem_json(two_copies, path, headers, status):
    response = _get(two_copies[0].port, path, headers)
    assert response.status == status
    assert response.getheader("Content-Type") == PROBLEM
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Cache-Control") == "no-store"
    problem = json.loads(response.body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
