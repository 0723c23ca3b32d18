"""The unit of work: one transaction on one database, rolled back unless committed.

Connection failures are translated here, once, into RegionUnavailable, and they open the
region's circuit breaker so the next requests for that region fail at once. Each unit of work
holds one of its region's bulkhead slots while open (see bulkhead.py).

A read-only unit of work can also `read` a Core statement on a plain connection, without the
ORM: the hot reads (a merchant, a product an integration polls) then cost a statement, not a
Session, its transaction bookkeeping and an identity map for objects nobody changes. The
connection is the same engine's (same pool, deadlines and read-only options) and is closed
with the unit of work, so failures are translated exactly as for the session.
"""

from __future__ import annotations

from contextvars import ContextVar

import psycopg
from sqlalchemy import Connection, CursorResult, Executable, Select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from marketplace.errors import RegionUnavailable
from marketplace.regions import deadline
from marketplace.regions.breaker import PROBE_SECONDS, RegionHealth
from marketplace.regions.bulkhead import Bulkhead

_open: ContextVar[frozenset[str]] = ContextVar("open_units_of_work", default=frozenset())
current_region: ContextVar[str | None] = ContextVar("current_region", default=None)
# The last region a unit of work was opened on: the request's access log line names it.
last_region: ContextVar[str | None] = ContextVar("last_region", default=None)

# SQLSTATE classes that mean "the server cannot be reached or will not serve now".
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def fixed(statement: Select) -> Select:
    """`statement`, with the key SQLAlchemy finds its compiled SQL by worked out once.

    SQLAlchemy derives that key from the whole statement tree on every execution; for the
    product read (every column of three tables, two joins) the walk cost more CPU than the
    rest of the read (bench/hot_paths.py). A statement object never changes (each method
    returns a new one), and a hot read takes its values as bind parameters at execution, so
    a module-level statement's key is the same every time. Statements derived from this one
    (`.where(...)`, `.limit(...)`) work out their own."""
    key = statement._generate_cache_key()
    statement.__class__ = _FixedSelect
    statement._cpu_cache_key = (statement, key)
    return statement


class _FixedSelect(Select):
    inherit_cache = True

    def _generate_cache_key(self):
        kept = self.__dict__.get("_cpu_cache_key")
        if kept is not None and kept[0] is self:
            return kept[1]
        return super()._generate_cache_key()  # a copy made from a fixed statement


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another on the same database."""


class UnitOfWork:
    def __init__(self, *, name: str, factory: sessionmaker[Session], health: RegionHealth, bulkhead: Bulkhead):
        self.name = name
        self._factory = factory
        self._health = health
        self._bulkhead = bulkhead
        self._connection: Connection | None = None
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        opened = _open.get()
        if self.name in opened:
            raise NestedUnitOfWork(f"a unit of work on {self.name!r} is already open")
        last_region.set(self.name)  # before the fast 503s below, so that their log lines name it
        probing = self._health.check(self.name)
        self._bulkhead.enter(self.name)
        self._probe_token = deadline.narrowed(PROBE_SECONDS) if probing else None
        self._token = _open.set(opened | {self.name})
        self._region_token = current_region.set(self.name)
        self.session = self._factory()
        return self

    def commit(self) -> None:
        self.session.commit()

    def read(self, statement: Executable, parameters: dict[str, object] | None = None) -> CursorResult:
        """The rows of a Core statement, on this read-only unit of work's own connection."""
        if not self._factory.kw["info"]["read_only"]:
            # a second connection would be a second transaction beside the session's
            raise RuntimeError("read() is for read-only units of work; a writing one reads through its session")
        if self._connection is None:
            self._connection = self._factory.kw["bind"].connect()
        return self._connection.execute(statement, parameters)

    def __exit__(self, exc_type, exc, tb) -> None:
        close_error = None
        try:
            try:
                if self._connection is not None:
                    self._connection.close()
            finally:
                self._connection = None
                self.session.close()  # rolls back anything not committed
        except sa_exc.DBAPIError as error:
            close_error = error
            exc = exc or error
        finally:
            _open.reset(self._token)
            current_region.reset(self._region_token)
            deadline.widened(self._probe_token)
            self._bulkhead.leave(self.name)
        if exc is None:
            self._health.mark_up(self.name)
            return
        reason = unavailability(exc)
        if reason in ("busy", "connection lost"):
            # A full pool, or one connection that died (a failover, a restart): this request
            # fails, the next one gets a fresh connection, and only that failing opens the
            # breaker.
            raise RegionUnavailable(self.name, retry_after=1, reason=reason) from exc
        if reason is not None:
            self._health.mark_down(self.name, reason)
            raise RegionUnavailable(self.name, retry_after=self._health.retry_after, reason=reason) from exc
        if close_error is exc:
            raise close_error


def unavailability(exc: BaseException) -> str | None:
    """Why the database could not serve, when `exc` says it could not; else None."""
    if isinstance(exc, sa_exc.TimeoutError):
        return "busy"
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return None
    if getattr(exc, "timed_out", False) or isinstance(exc.orig, psycopg.errors.ConnectionTimeout):
        return "no answer within the deadline"
    if exc.connection_invalidated:
        return "connection lost"
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is None:
        message = str(exc.orig).lower()
        if "unable to open database file" in message:
            return "database file unavailable"
        if exc.orig.__class__.__module__.startswith("sqlite3"):
            return None
        return "unreachable"
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return "not accepting connections"
    return None
