"""Schema management: one Alembic history applied to every regional shard and the directory.

Each migration creates on a database only the tables of its role (shard or directory), read
from `context.config.attributes["role"]`, so one chain of revisions serves both kinds.

Rolling change: a region is upgraded while servers of the previous release still run against
it, so a server accepts a database exactly one migration ahead of its code (migrations are
written to keep the previous release working) and refuses one that is behind. It knows a
revision it has never seen is one ahead from the version row itself: `cpu db upgrade` records
there the revision the database came from (`down_revision`, migration 0010).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
import logging
from functools import cache

import click
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from marketplace.config import mask_url
from marketplace.errors import RegionUnavailable
from marketplace.regions.router import DIRECTORY, Router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


class SchemaBehind(RuntimeError):
    """The service must not start: some database is behind the code (or further ahead than one migration)."""


class UpgradeIncomplete(click.ClickException):
    """Some databases could not be reached; the others were upgraded. A ClickException, so that
    `cpu db upgrade` ends with this message and exit status 1 rather than a traceback."""


@dataclass(frozen=True)
class DatabaseSchema:
    name: str
    url: str
    current: str | None
    head: str
    came_from: str | None = None  # the revision before `current`, as the version row records it

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def one_ahead(self) -> bool:
        """Migrated by the next release, from this code's head: safe to serve during its rollout."""
        return self.current not in _known() and self.came_from == self.head

    @property
    def servable(self) -> bool:
        return self.at_head or self.one_ahead


def role(name: str) -> str:
    return "directory" if name == DIRECTORY else "shard"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migration history must have one head, it has {heads}")
    return heads[0]


@cache
def _known() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def _down_revision(revision: str) -> str | None:
    down = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
    return down if isinstance(down, str) or down is None else None  # a merge point has several


def status(router: Router, name: str) -> DatabaseSchema:
    """The database's revision; a SQLite file that is not there reads as empty and stays absent
    (connecting would create it, and a command pointed at the wrong folder would leave a trail
    of empty databases behind)."""
    if sqlite_file_missing(router.url(name)):
        return DatabaseSchema(name, mask_url(router.url(name)), None, head())
    with router.engine(name).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        came_from = _recorded_lineage(connection) if current is not None and current not in _known() else None
    return DatabaseSchema(name, mask_url(router.url(name)), current, head(), came_from)


def _has_lineage(connection) -> bool:
    return "down_revision" in {c["name"] for c in inspect(connection).get_columns("alembic_version")}


def _recorded_lineage(connection) -> str | None:
    if not _has_lineage(connection):
        return None
    return connection.execute(text("SELECT down_revision FROM alembic_version")).scalar()


def _record_lineage(connection) -> None:
    """Note, beside the revision the database is at, the one it came from (see the module doc)."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None and _has_lineage(connection):
        connection.execute(text("UPDATE alembic_version SET down_revision = :down"), {"down": _down_revision(current)})


def sqlite_file_missing(url: str) -> bool:
    """PostgreSQL databases are made by their administrator and never count as missing."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file()


def upgrade_all(router: Router, report: Callable[[str], None] = print, revision: str = "head") -> None:
    """Upgrade every database this process serves, one line of output per database. One that
    cannot be reached is named and passed over; UpgradeIncomplete lists them at the end."""
    unreachable = []
    for name in router.database_names:
        try:
            report(_upgrade(router, name, revision))
        except (OperationalError, RegionUnavailable) as exc:
            unreachable.append(name)
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:120]
            report(f"{name:<10} {mask_url(router.url(name)):<60} UNREACHABLE, not upgraded: {reason}")
    if unreachable:
        raise UpgradeIncomplete(f"not upgraded, unreachable: {', '.join(unreachable)}; run `cpu db upgrade` "
                                "again once they are back")


def _upgrade(router: Router, name: str, revision: str) -> str:
    before = status(router, name)
    if before.current is None and sqlite_file_missing(router.url(name)):
        Path(make_url(router.url(name)).database).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config()
    with router.engine(name).begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["role"] = role(name)
        command.upgrade(config, revision)
        _record_lineage(connection)
    after = status(router, name)
    change = "already at head" if before.current == after.current else f"{before.current or 'empty'} -> {after.current}"
    return f"{name:<10} {after.url:<60} {change}"


def require_head(router: Router, names: tuple[str, ...] | None = None) -> None:
    """Refuse to start when a reachable database is behind the head revision (or ahead by more
    than the one migration of a rolling deploy, see the module doc).

    An unreachable database does not stop the start: a hurricane in one region must not keep
    the other five from being served after a deploy or a restart. Its breaker is opened,
    and /readyz reports its schema once it answers again.
    """
    behind = []
    for name in names or router.database_names:
        try:
            state = status(router, name)
        except OperationalError as exc:
            router.health.mark_down(name, "unreachable at start")
            log.warning("database %s unreachable at start: %s", name, str(exc.orig).strip()[:200])
            continue
        if state.one_ahead:
            log.warning("database %s is one migration ahead of this code (%s after %s): served, as in a rolling deploy",
                        name, state.current, state.head)
        elif not state.at_head:
            behind.append(state)
    if behind:
        listing = ", ".join(f"{s.name} ({s.url}) at {s.current or 'no schema'}" for s in behind)
        raise SchemaBehind(
            f"database schema does not match the code (head {behind[0].head}): {listing}. Run `cpu db upgrade` "
            "(a database further ahead than one migration needs this code upgraded)."
        )
