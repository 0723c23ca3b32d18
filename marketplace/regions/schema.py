"""Schema management: one Alembic history applied to every regional shard and the directory.

Each migration creates on a database only the tables of its role (shard or directory), read
from `context.config.attributes["role"]`, so one chain of revisions serves both kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import logging
from functools import cache

from marketplace.config import mask_url
from marketplace.regions.router import DIRECTORY, Router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


class SchemaBehind(RuntimeError):
    """The service must not start: some database is not at the migration head."""


@dataclass(frozen=True)
class DatabaseSchema:
    name: str
    url: str
    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


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


def status(router: Router, name: str) -> DatabaseSchema:
    """The database's revision; a SQLite file that is not there reads as empty and stays absent
    (connecting would create it, and a command pointed at the wrong folder would leave a trail
    of empty databases behind)."""
    if sqlite_file_missing(router.url(name)):
        return DatabaseSchema(name, mask_url(router.url(name)), None, head())
    with router.engine(name).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return DatabaseSchema(name, mask_url(router.url(name)), current, head())


def sqlite_file_missing(url: str) -> bool:
    """PostgreSQL databases are made by their administrator and never count as missing."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file()


def upgrade_all(router: Router, report: Callable[[str], None] = print, revision: str = "head") -> None:
    """Upgrade every database, one line of output per database."""
    for name in router.database_names:
        before = status(router, name)
        if before.current is None and sqlite_file_missing(router.url(name)):
            Path(make_url(router.url(name)).database).parent.mkdir(parents=True, exist_ok=True)
        config = alembic_config()
        with router.engine(name).begin() as connection:
            config.attributes["connection"] = connection
            config.attributes["role"] = role(name)
            command.upgrade(config, revision)
        after = status(router, name)
        change = "already at head" if before.current == after.current else f"{before.current or 'empty'} -> {after.current}"
        report(f"{name:<10} {after.url:<60} {change}")


def require_head(router: Router, names: tuple[str, ...] | None = None) -> None:
    """Refuse to start when a reachable database is not at the head revision.

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
        if not state.at_head:
            behind.append(state)
    if behind:
        listing = ", ".join(f"{s.name} ({s.url}) at {s.current or 'no schema'}" for s in behind)
        raise SchemaBehind(
            f"database schema is behind the code (head {behind[0].head}): {listing}. "
            "Run `cpu db upgrade`."
        )
