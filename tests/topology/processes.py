"""The processes of the topology test: a gunicorn per region, an nginx edge per data center,
and a watch on PostgreSQL's connections."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import psycopg

from tests.support.processes import ROOT, Process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # `make test` installs Debian's nginx when missing


def region_server(region: str, *, port: int, urls: dict[str, str], instance: Path, log: Path) -> Process:
    """The app servers of one data center: CPU_REGION set, URLs for its shard and directory only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_", "XDG_"))}
    env.update(urls, PYTHONPATH=str(ROOT), HOME=str(instance), CPU_INSTANCE_PATH=str(instance), CPU_REGION=region,
               CPU_RELAY_IN_PROCESS="true", CPU_TRUSTED_PROXIES="1", CPU_LOG_LEVEL="WARNING")
    return Process([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                    "--threads", "4", "wsgi:app"], env=env, log=log)


def edge(config: str, *, prefix: Path, log: Path) -> Process:
    """nginx in the foreground with its own prefix: its pid file and temp files stay there."""
    (prefix / "temp").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(config)
    # Started as root, nginx's workers would drop to `nobody`, who cannot enter the test's folders.
    user = " user root;" if os.geteuid() == 0 else ""
    return Process([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr",
                    "-g", f"daemon off;{user}"], env=dict(os.environ), log=log, cwd=prefix)


class ConnectionWatch:
    """Every (database, application_name) PostgreSQL showed in pg_stat_activity while it ran,
    sampled every few milliseconds: the processes name themselves in application_name."""

    def __init__(self, admin_url: str, databases: list[str]):
        self.seen: set[tuple[str, str]] = set()
        self._admin_url, self._databases = admin_url, databases
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as admin:
            while not self._stop.is_set():
                rows = admin.execute("SELECT datname, application_name FROM pg_stat_activity WHERE datname = ANY(%s)",
                                     (self._databases,)).fetchall()
                self.seen.update(rows)
                self._stop.wait(0.005)
