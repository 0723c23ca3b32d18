"""Real databases for the test session: a set of SQLite files, and a set of PostgreSQL
databases created fresh on the server (one per region plus the directory), migrated by the
same command operators run, and dropped at the end."""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import text

from marketplace import config
from marketplace.regions import regionmap, schema
from marketplace.regions.base import DirectoryBase, ShardBase
from marketplace.regions.router import DIRECTORY, Router

DATABASE_NAMES = (*regionmap.load().region_codes, DIRECTORY)


def sqlite_config(instance: Path) -> dict[str, str]:
    return {"CPU_INSTANCE_PATH": str(instance)}


@contextmanager
def postgres_databases(admin_url: str, names: tuple[str, ...] = DATABASE_NAMES):
    """Create the seven databases (or those `names`); yield the settings that point at them; drop them."""
    prefix = f"cpu_test_{secrets.token_hex(4)}"
    names = {name: f"{prefix}_{name}" for name in names}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for database in names.values():
            admin.execute(f'CREATE DATABASE "{database}"')
    base = psycopg.conninfo.conninfo_to_dict(admin_url)
    try:
        yield {f"CPU_DATABASE_URL_{name.upper()}": _url(base, database) for name, database in names.items()}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for database in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _url(base: dict, database: str) -> str:
    user = base.get("user", "postgres")
    host = base.get("host", "127.0.0.1")
    port = base.get("port", "5432")
    if host.startswith("/"):
        return f"postgresql+psycopg://{user}@/{database}?host={host}&port={port}"
    return f"postgresql+psycopg://{user}@{host}:{port}/{database}"


def migrate(overrides: dict[str, str]) -> None:
    settings = config.load({**overrides, "CPU_RELAY_IN_PROCESS": "false"})
    router = Router(settings, regionmap.load(settings.regions_file))
    try:
        schema.upgrade_all(router, report=lambda _line: None)
    finally:
        router.dispose()


def wipe(router: Router) -> None:
    """Empty every table of every database, so each test starts from nothing."""
    wipe_regions(router)


def wipe_regions(router: Router, exclude: tuple[str, ...] = ()) -> None:
    for name in router.database_names:
        if name in exclude:
            continue
        metadata = DirectoryBase.metadata if name == DIRECTORY else ShardBase.metadata
        with router.engine(name).begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(text(f"DELETE FROM {table.name}"))
    router.locations.forget()
    for name in router.database_names:
        router.health.mark_up(name)


def opened_names(database_config: dict[str, str], urls: list[str]) -> set[str]:
    """Which databases (region codes, `directory`) the URLs the `opened` fixture saw belong to."""
    every = config.load({**database_config, "CPU_RELAY_IN_PROCESS": "false"})
    by_url = {**{url: name for name, url in every.database_urls.items()}, every.directory_url: DIRECTORY}
    return {by_url[url] for url in urls}
