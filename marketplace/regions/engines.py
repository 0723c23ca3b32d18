"""Engine construction per database kind. Only the router calls this."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from marketplace.regions.deadline import TIMED_OUT, Watchdog

APPLICATION_NAME = "cpu-marketplace"
PING_AFTER_IDLE_SECONDS = 5.0
# Connections are opened here, so that the caller can stop waiting at its deadline (see
# _connect_within_deadline). An attempt given up on still ends by itself within libpq's
# connect_timeout, so these threads are never held for long.
_connecting = ThreadPoolExecutor(max_workers=16, thread_name_prefix="db-connect")


def create(url: str, *, name: str, connect_timeout: int, pool_size: int, watchdog: Watchdog) -> Engine:
    """The engine of database `name` (a region, or the directory): the watchdog cuts its
    waits by that name when the region's breaker opens."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite(url)
    engine = _postgresql(url, name=name, connect_timeout=connect_timeout, pool_size=pool_size, watchdog=watchdog)
    watchdog.install(engine, name)
    return engine


def read_only(engine: Engine, *, name: str, connect_timeout: int, pool_size: int, watchdog: Watchdog) -> Engine:
    """The engine read-only units of work use beside `engine`, the writing one.

    Read-only work runs without a transaction: one round trip per statement instead of BEGIN,
    statement, ROLLBACK; each statement sees its own snapshot (reads that must agree belong
    in a writing unit of work). On PostgreSQL that is a pool of its own whose connections are
    always in autocommit, so that nothing is switched on checkout and back on return, and
    nothing is reset on return either: a connection in autocommit has no transaction to roll
    back. Per request, those switches and the reset cost more CPU than the hot reads' own
    statement (bench/hot_paths.py). It has the writing engine's deadlines and liveness
    checks, and is disposed with it. On SQLite it is the writing engine, told not to begin a
    transaction (see _sqlite)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(cpu_read_only=True)
    reader = _postgresql(engine.url, name=name, connect_timeout=connect_timeout, pool_size=pool_size, watchdog=watchdog,
                         isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    watchdog.install(reader, name)
    event.listen(engine, "engine_disposed", lambda _engine: reader.dispose())
    return reader


def _postgresql(url, *, name: str, connect_timeout: int, pool_size: int, watchdog: Watchdog, **options) -> Engine:
    # A dead data center must surface as an error quickly, not after the kernel's
    # multi-minute TCP retry: unacknowledged writes fail after tcp_user_timeout, idle
    # connections are probed by keepalives, and a connection that sat idle is pinged
    # before use (see _ping_if_idle).
    engine = create_engine(
        url,
        hide_parameters=True,  # error messages reach logs; parameters may be personal data
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=2,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": connect_timeout,
            "tcp_user_timeout": 1000 * connect_timeout,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            # an operator's own name in the URL wins: it tells a DBA which process holds a connection
            "application_name": make_url(url).query.get("application_name", APPLICATION_NAME),
        },
        **options,
    )
    event.listen(engine, "do_connect", _connect_within_deadline(watchdog, name))
    event.listen(engine, "checkout", _ping_if_idle(watchdog, name))
    event.listen(engine, "checkin", _note_checkin)
    return engine


def _connect_within_deadline(watchdog: Watchdog, name: str):
    """Open a connection, or give up when the work that wants it is out of time.

    libpq will not wait less than 2 s for a connection (its connect_timeout floor), which a
    region that went silent makes every new connection cost; a request's budget is shorter.
    So the connection is opened on a helper thread and the request stops waiting when the
    watchdog ends the wait (its budget spent, or the region found down meanwhile); an
    attempt that still succeeds later is closed."""
    def connect(dialect, _record, cargs, cparams):
        attempt = _connecting.submit(dialect.connect, *cargs, **cparams)
        given_up: Future[None] = Future()
        with watchdog.waiting(name, lambda: given_up.set_result(None)):
            wait([attempt, given_up], return_when=FIRST_COMPLETED)
        if not given_up.done():
            return attempt.result()
        attempt.add_done_callback(_close_late_connection)
        raise psycopg.errors.ConnectionTimeout("no connection within the request's time for the database") from None

    return connect


def _close_late_connection(attempt) -> None:
    if attempt.exception() is None:
        attempt.result().close()


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(watchdog: Watchdog, name: str):
    """Pessimistic disconnect handling, but only for connections that sat idle.

    SQLAlchemy's pool_pre_ping pings on every checkout: a round trip per unit of work that
    the benchmark showed costing more than the query. A connection used moments ago is
    almost surely alive; one idle for a while (a region that went down and came back) is
    pinged, and a dead one is replaced by raising DisconnectionError, which makes the pool
    retry with a fresh connection. The ping is watched like any statement: a server that
    does not answer it in time (frozen, or behind a link that swallows packets) fails the
    checkout at once, since a fresh connection to it could only wait as long again.
    """
    def ping(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with watchdog.watching(dbapi_connection, record.info, name):
                dbapi_connection.execute("SELECT 1")
                dbapi_connection.rollback()
        except Exception as error:
            if record.info.pop(TIMED_OUT, False):
                raise psycopg.errors.ConnectionTimeout("no answer to the liveness ping within the deadline") from error
            raise exc.DisconnectionError("idle connection is dead") from error

    return ping


def _sqlite(url: str) -> Engine:
    engine = create_engine(url, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A writing transaction takes the write lock up front: in WAL mode a deferred
        # transaction that reads and then writes fails at once when another writer went
        # first, whereas BEGIN IMMEDIATE waits its turn (busy_timeout). Read-only units of
        # work run without a transaction (see read_only).
        if not connection.get_execution_options().get("cpu_read_only", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
