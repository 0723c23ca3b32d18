"""The processes of the topology: per data center a gunicorn, an outbox relay and a consumer
process (as production runs them: `cpu relay`, `cpu events consume`), an nginx edge, and a
watch on PostgreSQL's connections."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import psycopg

from tests.support.processes import ROOT, Process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # `make test` installs Debian's nginx when missing


def region_environment(region: str, *, urls: dict[str, str], broker_url: str, instance: Path) -> dict[str, str]:
    """What every process of one data center is given: CPU_REGION, URLs for its shard and
    directory only, its own broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_", "XDG_"))}
    env.update(urls, PYTHONPATH=str(ROOT), HOME=str(instance), CPU_INSTANCE_PATH=str(instance), CPU_REGION=region,
               CPU_BROKER_URL=broker_url, CPU_RELAY_IN_PROCESS="false", CPU_TRUSTED_PROXIES="1",
               CPU_LOG_LEVEL="WARNING")
    return env


def region_server(env: dict[str, str], *, port: int, log: Path) -> Process:
    """The app servers of one data center; its relay and consumers run beside them."""
    return Process([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                    "--threads", "4", "wsgi:app"], env=env, log=log)


def region_command(env: dict[str, str], *args: str, log: Path) -> Process:
    """`cpu relay` or `cpu events consume` of one data center (with the drill's consumer)."""
    return Process([sys.executable, "-m", "tests.topology.drill_cpu", *args], env=env, log=log)


def edge(config: str, *, prefix: Path, log: Path) -> Process:
    """nginx in the foreground with its own prefix: its pid file and temp files stay there."""
    (prefix / "temp").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(config)
    # Started as root, nginx's workers would drop to `nobody`, who cannot enter the test's folders.
    user = " user root;" if os.geteuid() == 0 else ""
    return Process([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr",
                    "-g", f"daemon off;{user}"], env=dict(os.environ), log=log, cwd=prefix)


class ConnectionWatch:
    """Every (database, application_name) the PostgreSQL servers showed in pg_stat_activity while
    it ran, sampled every few milliseconds: the processes name themselves in application_name.
    One thread per server (`servers`: admin URL -> database names); a server that is stopped,
    frozen or cut only pauses its own thread, which reconnects when it is back."""

    def __init__(self, servers: dict[str, list[str]]):
        self.seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, args=(url, names), daemon=True)
                         for url, names in servers.items()]

    def __enter__(self) -> ConnectionWatch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _watch(self, admin_url: str, databases: list[str]) -> None:
        admin = None
        while not self._stop.is_set():
            try:
                admin = admin or psycopg.connect(admin_url, autocommit=True, connect_timeout=1)
                rows = admin.execute("SELECT datname, application_name FROM pg_stat_activity WHERE datname = ANY(%s) "
                                     "AND backend_type = 'client backend'",  # not autovacuum's workers
                                     (databases,)).fetchall()
                self.seen.update(rows)
            except psycopg.Error:
                if admin is not None:
                    admin.close()
                admin = None
                self._stop.wait(0.2)
            self._stop.wait(0.005)
