"""Processes the tests start for real (gunicorn, nginx, ...): a free port to give them, a plain
HTTP request to ask them, and a process in its own session, so that stopping it stops its
workers too, even when the test fails."""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now, for a server started next, and below the kernel's ephemeral range.

    A port the kernel hands out for port 0 comes from the same range it gives the suite's own
    outgoing connections (to PostgreSQL, NATS, the servers): one of them took a port handed out
    this way before its server bound it, and a fresh-clone run's topology failed to start
    ("Address already in use"). Below the range only servers bind; a port is handed out once
    per run, as two servers not yet started would otherwise be given the same one."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(max(low - 12_000, 1024), low)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class Process:
    """One command in its own process group, its output in `log`."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.log = log
        with open(log, "ab") as output:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(self, port: int, path: str | None, timeout: float = 60) -> None:
        """Until the port answers (`path` with a 200, when given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if path is None:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return
                if request(port, "GET", path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"not serving within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
