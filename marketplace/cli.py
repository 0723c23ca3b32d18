"""`cpu ...`: operating the marketplace from a shell.

`cpu` is the console script pip installs with the project ([project.scripts]), so it runs in
the project's own environment with the server's settings: it builds the app with the same
create_app, from the same CPU_INSTANCE_PATH (config.instance_path), as gunicorn does. Flask's
`flask --app wsgi cpu` reaches the same group.

Only `cpu db upgrade` creates databases. SQLite makes an empty file wherever a connection
points, so every other command first looks for the files, and on a folder without them says
so instead of reporting seven empty databases.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo

from marketplace.catalog.cli import catalog
from marketplace.edge_cli import edge
from marketplace.merchants.cli import accounts
from marketplace.events.cli import events
from marketplace.inventory.cli import inventory
from logistics.cli import postal
from search.cli import search
from payments.cli import fx_group, payments
from marketplace.config import mask_url
from marketplace.errors import NotFound
from marketplace.platform import platform
from marketplace.regions import outbox, schema
from marketplace.regions.cli import regions, replay_in_each, served
from marketplace.regions.outbox import RelayPolicy
from marketplace.regions.router import Router


class CommandLine(AppGroup):
    """The `cpu` group. Run as the console script it builds its own app; nested under Flask's
    command line (`flask --app wsgi`, or a test's runner) it is handed that one."""

    def main(self, *args, **kwargs):
        from marketplace.app import create_app  # app.py imports this module to register `cpu`

        os.environ["FLASK_RUN_FROM_CLI"] = "true"  # as Flask's own command line: no schema gate, no relay thread
        kwargs.setdefault("obj", ScriptInfo(create_app=create_app))
        return super().main(*args, **kwargs)


cpu = CommandLine("cpu", help="Operate the CPU Marketplace.")
db = AppGroup("db", help="Databases: one schema history on every shard and the directory.")
outbox_group = AppGroup("outbox", help="Inspect and replay outbox events.")
cpu.add_command(db)
cpu.add_command(outbox_group)
cpu.add_command(catalog)
cpu.add_command(search)
cpu.add_command(accounts)
cpu.add_command(regions)
cpu.add_command(edge)
cpu.add_command(events)
cpu.add_command(inventory)
cpu.add_command(payments)
cpu.add_command(fx_group)
cpu.add_command(postal)


def register(app: Flask) -> None:
    app.cli.add_command(cpu)


def require_databases(router: Router) -> tuple[str, ...]:
    """Refuse when no database is there at all (a wrong instance folder, or one never set up);
    else name those that are SQLite files not there yet, for the command to pass over.
    PostgreSQL databases are made by their administrator and never count as absent."""
    absent = tuple(name for name in router.database_names if schema.sqlite_file_missing(router.url(name)))
    if absent == router.database_names:
        raise click.ClickException(f"no databases in {platform().settings.instance_path}: run `cpu db upgrade` "
                                   "first (or set CPU_INSTANCE_PATH)")
    return absent


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Upgrade every regional database and the directory."""
    schema.upgrade_all(platform().router, report=click.echo, revision=revision)


@db.command("status")
def db_status() -> None:
    """Show each database's schema revision against the head."""
    router = platform().router
    absent = require_databases(router)
    behind = bool(absent)
    for name in router.database_names:
        if name in absent:
            click.echo(f"{name:<10} {mask_url(router.url(name)):<60} no database: run `cpu db upgrade`")
            continue
        state = schema.status(router, name)
        behind |= not state.at_head
        mark = "at head" if state.at_head else f"BEHIND (head {state.head})"
        click.echo(f"{name:<10} {state.url:<60} {state.current or 'empty'} {mark}")
    if behind:
        raise click.exceptions.Exit(1)


@cpu.command("relay")
@click.option("--once", is_flag=True, help="Deliver what is ready now, then exit.")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def relay(once: bool, regions: tuple[str, ...]) -> None:
    """Run an outbox relay in the foreground (several may run side by side)."""
    current = platform()
    served(regions)
    require_databases(current.router)
    schema.require_head(current.router, regions or None)
    worker = current.relay()
    if once:
        stats = worker.drain(regions or None)
        click.echo(f"delivered {stats.delivered}, failed {stats.failed}, parked {stats.parked}"
                   + (f", skipped unreachable {', '.join(stats.skipped_regions)}" if stats.skipped_regions else ""))
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"relay {worker.worker} running; Ctrl-C stops it")
    worker.run_forever(stop, current.settings.relay_interval, regions or None)


@outbox_group.command("parked")
@click.option("--topic", default=None, help="Only events of this topic.")
def outbox_parked(topic: str | None) -> None:
    """List events that wait for an operator, each with the reason it was parked."""
    current = platform()
    absent = require_databases(current.router)
    count = 0
    for region in current.router.served_regions:
        if region in absent:
            click.echo(f"{region} no database: run `cpu db upgrade`")
            continue
        for event in outbox.parked_events(current.router, region, topic=topic):
            count += 1
            click.echo(f"{region} {event.id} {event.topic} attempts={event.attempts} parked={event.parked_at:%Y-%m-%dT%H:%M:%SZ}")
            click.echo(f"    {event.last_error}")
    click.echo(f"{count} parked event(s)")


@outbox_group.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="keep delivered events this many days [default: CPU_OUTBOX_RETENTION_DAYS]")
def outbox_prune(days: int | None) -> None:
    """Delete delivered events past the retention, and idempotency keys past 30 days (relays
    also do it every hour)."""
    current = platform()
    require_databases(current.router)
    worker = current.relay(policy=RelayPolicy(retention=timedelta(days=days))) if days else current.relay()
    pruned = worker.prune()
    for region in current.router.served_regions:
        click.echo(f"{region:<9} {pruned.deleted[region]:>8} events deleted, {pruned.keys[region]} idempotency keys forgotten"
                   if region in pruned.deleted
                   else f"{region:<9} not pruned (unreachable or failing; see the log)")
    if "directory" not in pruned.failed:
        click.echo(f"{'directory':<9} {pruned.registration_keys:>8} registration keys forgotten")
    if pruned.failed:
        raise click.ClickException(f"not pruned: {', '.join(pruned.failed)}; run it again once they are back")


@outbox_group.command("replay")
@click.argument("event_id", required=False)
@click.option("--topic", default=None, help="Every parked event of this topic.")
@click.option("--region", "regions", multiple=True, help="Every parked event of this region (repeatable).")
def outbox_replay(event_id: str | None, topic: str | None, regions: tuple[str, ...]) -> None:
    """Put parked events back in the queue: one by id, or all of a topic and/or region."""
    current = platform()
    router = current.router
    require_databases(router)
    if event_id is not None:
        if topic or regions:
            raise click.UsageError("give an event id, or --topic/--region, not both")
        try:
            region = outbox.replay(router, event_id)
        except NotFound as exc:
            raise click.ClickException(exc.detail) from exc
        click.echo(f"{event_id} queued again in {region}")
        return
    if not (topic or regions):
        raise click.UsageError("give an event id, or --topic and/or --region")
    replay_in_each(served(regions), lambda region: outbox.replay_parked(router, region, topic=topic), "event(s)")


@cpu.command("demo")
def demo() -> None:
    """Load the demo data (idempotent: running it twice adds nothing)."""
    from marketplace import demo as demo_data

    current = platform()
    require_databases(current.router)
    schema.require_head(current.router)
    demo_data.load(current.router, report=click.echo)


if __name__ == "__main__":  # python -m marketplace.cli, where the console script is not on PATH
    cpu()
