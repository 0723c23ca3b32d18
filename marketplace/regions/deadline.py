"""Statement deadlines that hold even when the database stops answering.

A data center that goes silent (power lost behind a router that still acknowledges, a
frozen server) leaves a query waiting for an answer that never comes: no error, no timeout,
and the request thread is gone for good. PostgreSQL's own statement_timeout cannot help,
since the server is the part that is gone. So every statement on PostgreSQL is watched: a
single watchdog thread shuts down the socket of a statement that outlives its deadline,
which wakes the waiting driver with an error at once. The deadline is short for requests
(set per request, see `deadline_for`) and longer for background work.

"Every statement" includes those SQLAlchemy's events never see: the liveness ping before a
pooled connection is reused runs under `watching` (see engines._ping_if_idle), and opening a
new connection is bounded by the same deadline (engines._connect_within_deadline).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine, event

_deadline: ContextVar[float | None] = ContextVar("statement_deadline", default=None)
TIMED_OUT = "cpu_timed_out"


@contextmanager
def deadline_for(seconds: float) -> Iterator[None]:
    """Statements in this block may take at most `seconds` each."""
    token = _deadline.set(seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class Watchdog:
    def __init__(self, default_seconds: float, tick: float = 0.02):
        self.default_seconds = default_seconds
        self.tick = tick
        self._watched: dict[int, tuple[float, int, dict]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._on_error)

    def seconds(self) -> float:
        """The deadline of whatever is sent now: the request's, else the background one."""
        return _deadline.get() or self.default_seconds

    @contextmanager
    def watching(self, dbapi_connection, info: dict) -> Iterator[None]:
        """Cut `dbapi_connection` if the block outlives the deadline; `info[TIMED_OUT]` then says so."""
        self._start(dbapi_connection, info)
        try:
            yield
        finally:
            self._stop(dbapi_connection)

    def _before(self, conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        self._start(conn.connection.dbapi_connection, conn.connection.info)

    def _after(self, conn, *_args) -> None:
        self._stop(conn.connection.dbapi_connection)

    def _start(self, dbapi, info: dict) -> None:
        with self._lock:
            self._watched[id(dbapi)] = (time.monotonic() + self.seconds(), dbapi.pgconn.socket, info)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="statement-watchdog", daemon=True)
                self._thread.start()

    def _stop(self, dbapi) -> None:
        with self._lock:
            self._watched.pop(id(dbapi), None)

    def _on_error(self, context) -> None:
        connection = context.connection
        if connection is None or connection.closed:
            return
        try:
            fairy = connection.connection
        except Exception:
            return
        with self._lock:
            self._watched.pop(id(fairy.dbapi_connection), None)
        if fairy.info.pop(TIMED_OUT, False):
            context.is_disconnect = True
            if context.sqlalchemy_exception is not None:
                context.sqlalchemy_exception.timed_out = True

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                expired = [(key, fd, info) for key, (until, fd, info) in self._watched.items() if until < now]
                for key, _, _ in expired:
                    del self._watched[key]
            for _, fd, info in expired:
                info[TIMED_OUT] = True
                _cut(fd)


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
    """Requests get the short deadline: a user waiting is better told 503 than kept waiting."""
    from flask import g

    @app.before_request
    def _request_deadline() -> None:
        g.deadline_token = _deadline.set(seconds)

    @app.teardown_request
    def _clear_deadline(_exc) -> None:
        token = g.pop("deadline_token", None)
        if token is not None:
            _deadline.reset(token)
