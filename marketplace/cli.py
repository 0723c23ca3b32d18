"""`flask --app wsgi cpu ...`: operating the marketplace from a shell."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from marketplace.catalog.cli import catalog
from marketplace.merchants.cli import accounts
from search.cli import search
from marketplace.errors import NotFound
from marketplace.platform import platform
from marketplace.regions import outbox, schema
from marketplace.regions.outbox import RelayPolicy

cpu = AppGroup("cpu", help="Operate the CPU Marketplace.")
db = AppGroup("db", help="Databases: one schema history on every shard and the directory.")
outbox_group = AppGroup("outbox", help="Inspect and replay outbox events.")
cpu.add_command(db)
cpu.add_command(outbox_group)
cpu.add_command(catalog)
cpu.add_command(search)
cpu.add_command(accounts)


def register(app: Flask) -> None:
    app.cli.add_command(cpu)


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Upgrade every regional database and the directory."""
    schema.upgrade_all(platform().router, report=click.echo, revision=revision)


@db.command("status")
def db_status() -> None:
    """Show each database's schema revision against the head."""
    router = platform().router
    behind = False
    for name in router.database_names:
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
    unknown = set(regions) - set(current.regions.region_codes)
    if unknown:
        raise click.BadParameter(f"unknown region(s): {', '.join(sorted(unknown))}", param_hint="--region")
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
def outbox_parked() -> None:
    """List events that failed too often and wait for an operator."""
    current = platform()
    count = 0
    for region in current.regions.region_codes:
        for event in outbox.parked_events(current.router, region):
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
    worker = current.relay(policy=RelayPolicy(retention=timedelta(days=days))) if days else current.relay()
    pruned = worker.prune()
    for region in current.regions.region_codes:
        click.echo(f"{region:<9} {pruned.deleted[region]:>8} events deleted, {pruned.keys[region]} idempotency keys forgotten"
                   if region in pruned.deleted
                   else f"{region:<9} not pruned (unreachable or failing; see the log)")
    if "directory" not in pruned.failed:
        click.echo(f"{'directory':<9} {pruned.registration_keys:>8} registration keys forgotten")
    if pruned.failed:
        raise click.ClickException(f"not pruned: {', '.join(pruned.failed)}; run it again once they are back")


@outbox_group.command("replay")
@click.argument("event_id")
def outbox_replay(event_id: str) -> None:
    """Put a parked event back in the queue."""
    try:
        region = outbox.replay(platform().router, event_id)
    except NotFound as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"{event_id} queued again in {region}")


@cpu.command("demo")
def demo() -> None:
    """Load the demo data (idempotent: running it twice adds nothing)."""
    from marketplace import demo as demo_data

    current = platform()
    schema.require_head(current.router)
    demo_data.load(current.router, report=click.echo)
