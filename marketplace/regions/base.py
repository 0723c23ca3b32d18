"""Declarative bases and column types shared by every model.

There are two kinds of database: a regional shard (one per data center, holding the private
data of the parties homed there) and the small global directory. Each has its own metadata,
so a migration creates on each database only the tables that belong there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def database_now(session: Session) -> datetime:
    """The database server's clock. Leases and claims shared by several hosts are timed by the
    one clock they all read, so a relay whose host clock is ten minutes out neither steals a
    live lease nor keeps a dead one. PostgreSQL's statement_timestamp is when the statement
    began, not the transaction. A SQLite file is only ever opened on its own host, whose clock
    is the database's; SQLite's own `now` has millisecond steps, which would put a row written
    a moment ago in the future."""
    if session.get_bind().dialect.name == "sqlite":
        return datetime.now(UTC)
    return session.scalar(select(type_coerce(func.statement_timestamp(), UTCDateTime())))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, whatever the database keeps.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored as naive
    UTC and made aware again when read. A naive datetime is refused: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ShardBase(DeclarativeBase):
    """Tables of a regional shard."""

    metadata = MetaData(naming_convention=NAMING)


class DirectoryBase(DeclarativeBase):
    """Tables of the global directory."""

    metadata = MetaData(naming_convention=NAMING)
