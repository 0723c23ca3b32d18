"""The server as `make run` starts it: real gunicorn processes from the repository's folder, so
they read its gunicorn.conf.py. Two copies side by side, each from its own instance folder,
and what gunicorn itself answers to requests it refuses before the app sees them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from gunicorn.ctl.client import ControlClient

from tests.support.processes import ROOT, Process, free_port, request

PROBLEM = "application/problem+json"


class Server:
    """One gunicorn copy, serving the app from its own instance folder, on its own port."""

    def __init__(self, instance: Path, home: Path, log: Path):
        self.instance, self.port = instance, free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_", "XDG_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            HOME=str(home),  # gunicorn's per-user default socket, kept out of the real home
            CPU_INSTANCE_PATH=str(instance),
            CPU_SCHEMA_CHECK="false",  # the copies serve /healthz; no database is needed
            CPU_RELAY_IN_PROCESS="false",
            CPU_LOG_LEVEL="WARNING",
        )
        self.gunicorn = Process([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                                 "--threads", "2", "wsgi:app"], env=env, log=log)


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    servers = []
    try:
        for name in ("a", "b"):
            folder = tmp_path_factory.mktemp(f"instance-{name}")
            servers.append(Server(folder, home, folder.parent / f"gunicorn-{name}.log"))
        for server in servers:
            server.gunicorn.wait_for(server.port, "/healthz")
        yield servers
    finally:
        for server in servers:
            server.gunicorn.stop()


def test_two_copies_side_by_side_serve_and_each_answers_on_its_own_control_socket(two_copies):
    for server in two_copies:
        assert request(server.port, "GET", "/healthz")[0] == 200
        socket_path = server.instance / "gunicorn.ctl"
        assert socket_path.is_socket(), f"no control socket in {server.instance}"
        with ControlClient(str(socket_path), timeout=10) as control:
            assert control.send_command("show stats")["pid"] == server.gunicorn.process.pid


@pytest.mark.parametrize("path, headers, status", [
    ("/api/v1/search?q=" + "a" * 9000, {}, 414),  # over gunicorn's request line limit
    ("/api/v1/search?q=coffee", {"X-Long": "a" * 9000}, 431),  # over its header field size limit
])
def test_requests_gunicorn_refuses_itself_get_guarded_problem_json(two_copies, path, headers, status):
    answered, answer_headers, body = request(two_copies[0].port, "GET", path, headers=headers)
    assert answered == status
    assert answer_headers["content-type"] == PROBLEM
    assert answer_headers["x-content-type-options"] == "nosniff"
    assert answer_headers["cache-control"] == "no-store"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
