"""Deadlines on database waits that hold even when the database stops answering.

A data center that goes silent (power lost behind a router that still acknowledges, a
frozen server) leaves a query waiting for an answer that never comes: no error, no timeout,
and the request thread is gone for good. PostgreSQL's own statement_timeout cannot help,
since the server is the part that is gone. So every wait on PostgreSQL is watched: a single
watchdog thread ends a wait that outlives its deadline (a statement's socket is shut down,
which wakes the waiting driver with an error at once). The thread sleeps until the soonest
deadline, and not at all while nothing waits: a process that serves no one costs no wake-ups.

A request has one budget for all its waits (`Budget`, set per request by `install`): its
admission `SELECT 1`, every statement, ping and new connection after it draw on the same
seconds, so a request can never wait longer than that in all, however many statements it
sends. Background work has no budget: each of its waits gets the longer background deadline.

Once one wait on a database runs out, the region's breaker opens (uow.py) and `cut` ends
every other wait on that database at once: requests that queued behind the first are told
503 now, not each at the end of its own budget.

"Every wait" includes those SQLAlchemy's events never see: the liveness ping before a pooled
connection is reused (engines._ping_if_idle) and opening a new connection
(engines._connect_within_deadline) are watched the same way.
"""

from __future__ import annotations

import itertools
import math
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Engine, event

TIMED_OUT = "cpu_timed_out"


class Budget:
    """Seconds a piece of work may still spend waiting for databases, all waits together.
    A narrower budget inside another (a breaker's probe) spends from both."""

    def __init__(self, seconds: float, parent: Budget | None = None):
        self.seconds = seconds
        self.left = seconds
        self.parent = parent

    def spend(self, seconds: float) -> None:
        self.left -= seconds
        if self.parent is not None:
            self.parent.spend(seconds)


_budget: ContextVar[Budget | None] = ContextVar("database_budget", default=None)


@contextmanager
def deadline_for(seconds: float) -> Iterator[None]:
    """The waits in this block may take `seconds` in all (a budget of their own)."""
    token = _budget.set(Budget(seconds))
    try:
        yield
    finally:
        _budget.reset(token)


@contextmanager
def beside() -> Iterator[None]:
    """A budget of its own, as large as the current one was at its start, for work run
    beside it on another thread (parallel health checks): one silent database must not
    spend the others' time."""
    current = _budget.get()
    if current is None:
        yield
        return
    with deadline_for(current.seconds):
        yield


def narrowed(seconds: float):
    """Narrow the current budget to at most `seconds` until `widened(token)`; a no-op token
    for background work, which has no budget to narrow."""
    current = _budget.get()
    if current is None:
        return None
    return _budget.set(Budget(min(seconds, max(current.left, 0.0)), parent=current))


def widened(token) -> None:
    if token is not None:
        _budget.reset(token)


@dataclass
class _Wait:
    until: float
    database: str
    cancel: Callable[[], None]  # ends the wait now; called once, by the watchdog thread or `cut`
    started: float
    budget: Budget | None


class Watchdog:
    def __init__(self, default_seconds: float):
        self.default_seconds = default_seconds
        self._waits: dict[object, _Wait] = {}  # watched: ended by the watchdog when out of time
        self._open: dict[object, _Wait] = {}  # every wait until it stops, ended or not: what it spent
        self._lock = threading.Lock()
        self._woken = threading.Condition(self._lock)
        self._wake_at = math.inf  # when the thread looks next; a sooner deadline wakes it
        self._thread: threading.Thread | None = None
        self._keys = itertools.count()

    def install(self, engine: Engine, database: str) -> None:
        def before(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
            record = conn.connection
            self._start(id(record.dbapi_connection), database, _socket_cutter(record.dbapi_connection, record.info))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._on_error)

    def allowance(self) -> float:
        """How long the next wait may take: what is left of the budget, else the background deadline."""
        budget = _budget.get()
        return max(budget.left, 0.0) if budget is not None else self.default_seconds

    @contextmanager
    def watching(self, dbapi_connection, info: dict, database: str) -> Iterator[None]:
        """Cut `dbapi_connection` if the block outlives the allowance; `info[TIMED_OUT]` then says so."""
        key = id(dbapi_connection)
        self._start(key, database, _socket_cutter(dbapi_connection, info))
        try:
            yield
        finally:
            self._stop(key)

    @contextmanager
    def waiting(self, database: str, cancel: Callable[[], None]) -> Iterator[None]:
        """Call `cancel` if the block outlives the allowance, or when `database` is cut."""
        key = ("wait", next(self._keys))
        self._start(key, database, cancel)
        try:
            yield
        finally:
            self._stop(key)

    def cut(self, database: str) -> None:
        """End every wait on `database` now: it was found not answering."""
        with self._lock:
            ended = [key for key, wait in self._waits.items() if wait.database == database]
            waits = [self._waits.pop(key) for key in ended]
        for wait in waits:
            wait.cancel()

    def _after(self, conn, *_args) -> None:
        self._stop(id(conn.connection.dbapi_connection))

    def _start(self, key, database: str, cancel: Callable[[], None]) -> None:
        now = time.monotonic()
        wait = _Wait(now + self.allowance(), database, cancel, now, _budget.get())
        with self._lock:
            self._waits[key] = self._open[key] = wait
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="statement-watchdog", daemon=True)
                self._thread.start()
            if wait.until < self._wake_at:
                self._woken.notify()

    def _stop(self, key) -> None:
        with self._lock:
            self._waits.pop(key, None)
            wait = self._open.pop(key, None)
        if wait is not None and wait.budget is not None:
            wait.budget.spend(time.monotonic() - wait.started)

    def _on_error(self, context) -> None:
        connection = context.connection
        if connection is None or connection.closed:
            return
        try:
            fairy = connection.connection
        except Exception:
            return
        self._stop(id(fairy.dbapi_connection))
        if fairy.info.pop(TIMED_OUT, False):
            context.is_disconnect = True
            if context.sqlalchemy_exception is not None:
                context.sqlalchemy_exception.timed_out = True

    def _watch(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                expired = [key for key, wait in self._waits.items() if wait.until <= now]
                waits = [self._waits.pop(key) for key in expired]
                if not waits:
                    self._wake_at = min((wait.until for wait in self._waits.values()), default=math.inf)
                    self._woken.wait(None if self._wake_at == math.inf else self._wake_at - now)
                    continue
            for wait in waits:
                wait.cancel()


def _socket_cutter(dbapi_connection, info: dict) -> Callable[[], None]:
    """Cut this connection's socket, and only its: a wait whose end was never seen (an error
    path that skipped `_stop`) may expire after its connection closed and its descriptor went
    to another connection, perhaps another region's, which must not be cut in its place."""
    fd = dbapi_connection.pgconn.socket
    connection = weakref.ref(dbapi_connection)

    def cancel() -> None:
        still = connection()
        try:
            if still is None or still.closed or still.pgconn.socket != fd:
                return
        except Exception:  # the driver's connection is gone: nothing of it to cut
            return
        info[TIMED_OUT] = True
        _cut(fd)

    return cancel


def _cut(fd: int) -> None:
    """Shut the connection's socket down without closing the driver's file descriptor."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # the fd still belongs to the driver


def install(app, seconds: float) -> None:
    """A request gets one short budget: a user waiting is better told 503 than kept waiting."""
    from flask import g

    @app.before_request
    def _request_budget() -> None:
        g.budget_token = _budget.set(Budget(seconds))

    @app.teardown_request
    def _clear_budget(_exc) -> None:
        token = g.pop("budget_token", None)
        if token is not None:
            _budget.reset(token)
