"""A private PostgreSQL server for one test: its own data directory and port, so a drill can
really stop it (`pg_ctl stop -m immediate`, as power loss), freeze it (SIGSTOP to the
postmaster and every backend: the kernel still acknowledges, nothing answers) or drop its port
with a firewall rule (iptables on loopback), and bring it back as it was.

Built with initdb and pg_ctl from Debian's /usr/lib/postgresql/<version>/bin, fsync off (a
test server need not survive a crash of the machine, only of itself). synchronous_commit stays
on: with it off, an immediate stop loses commits the server had already acknowledged (a
checkout test saw an order request vanish), which no real server does. PostgreSQL refuses to
run as root, so as root the server runs as the `postgres` user in a folder it owns. A missing
binary fails the test; it is never skipped.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.support.processes import free_port

IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"  # `make edge` installs Debian's when missing


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail("initdb/pg_ctl are needed for the drill and were not found under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


class PrivateCluster:
    def __init__(self, name: str):
        self.name = name
        self.bin = _bin_dir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"cpu-pg-{name}-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 100\n")
        self.firewalled = False

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([str(self.bin / program), *args], user=self.user, cwd=self.root, capture_output=True,
                              text=True, timeout=60)
        if done.returncode:
            pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    # -- the server's life -------------------------------------------------------------------
    def start(self) -> PrivateCluster:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """A real stop: `immediate` is the server losing power (no checkpoint, clients cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.unfirewall()
        self.thaw()
        if (self.data / "postmaster.pid").exists():
            subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           user=self.user, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def freeze(self) -> None:
        """SIGSTOP to every process of the server: connections stay open, nothing answers. The
        postmaster first, so that it forks no backend after its children were listed."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)
        self._frozen = [postmaster]
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        for pid in map(int, children):
            try:
                os.kill(pid, signal.SIGSTOP)
                self._frozen.append(pid)
            except ProcessLookupError:
                pass  # a backend that was ending

    def thaw(self) -> None:
        for pid in getattr(self, "_frozen", []):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._frozen = []

    def firewall(self) -> None:
        """Drop every packet to the server's port on loopback: a link gone silent."""
        self._iptables("-I")
        self.firewalled = True

    def unfirewall(self) -> None:
        if self.firewalled:
            self._iptables("-D")
            self.firewalled = False

    def _iptables(self, action: str) -> None:
        rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(self.port), "-j", "DROP"]
        done = subprocess.run([IPTABLES, action, *rule], capture_output=True, text=True, timeout=30)
        if done.returncode:
            pytest.fail(f"iptables {action} {' '.join(rule)} failed (as root, with `make edge`'s iptables?): "
                        f"{done.stderr}")

    # -- its databases ----------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def answers(self) -> bool:
        try:
            psycopg.connect(self.admin_url, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False


@contextmanager
def private_cluster(name: str):
    cluster = PrivateCluster(name).start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def wait_until_answering(cluster: PrivateCluster, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cluster.answers():
        assert time.monotonic() < deadline, f"{cluster.name}'s server did not come back within {timeout} s"
        time.sleep(0.1)
