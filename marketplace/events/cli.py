"""`cpu events ...`: the named consumers' deliveries that wait for an operator, and (with a
broker) the consumer processes of a region."""

from __future__ import annotations

import signal
import threading

import click
from flask.cli import AppGroup

from marketplace.errors import RegionUnavailable
from marketplace.events import deliveries
from marketplace.platform import platform
from marketplace.regions.cli import replay_in_each, served

events = AppGroup("events", help="Events between regions: parked consumer deliveries, consumer processes.")


@events.command("parked")
@click.option("--consumer", default=None, help="Only this consumer's deliveries.")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def events_parked(consumer: str | None, regions: tuple[str, ...]) -> None:
    """List consumer deliveries parked after their attempts, each with its reason."""
    router, count = platform().router, 0
    for region in served(regions):
        try:
            parked = deliveries.parked(router, region, consumer=consumer)
        except RegionUnavailable:
            click.echo(f"{region} unreachable")
            continue
        for delivery in parked:
            count += 1
            click.echo(f"{region} {delivery.consumer} {delivery.event_id} {delivery.envelope['topic']} "
                       f"key={delivery.partition_key} attempts={delivery.attempts} parked={delivery.parked_at:%Y-%m-%dT%H:%M:%SZ}")
            click.echo(f"    {delivery.last_error}")
    click.echo(f"{count} parked deliver(ies)")


@events.command("replay")
@click.option("--consumer", default=None, help="Only this consumer's deliveries.")
@click.option("--event", "event_id", default=None, help="Only this event's deliveries.")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def events_replay(consumer: str | None, event_id: str | None, regions: tuple[str, ...]) -> None:
    """Give parked deliveries fresh attempts, once their cause is mended."""
    router = platform().router
    replay_in_each(served(regions), lambda region: deliveries.replay(router, region, consumer=consumer, event_id=event_id),
                   "deliver(ies)")


@events.command("consume")
@click.option("--once", is_flag=True, help="Apply what the broker holds now, then exit.")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def events_consume(once: bool, regions: tuple[str, ...]) -> None:
    """Run the named consumers of this data center against its broker (CPU_BROKER_URL)."""
    current = platform()
    if not current.settings.broker_url:
        raise click.ClickException("CPU_BROKER_URL is not set: without a broker, `cpu relay` applies the events itself")
    chosen = served(regions)
    if once:
        stats = current.broker.consume_ready(chosen)
        click.echo(f"applied {stats.applied}, duplicates {stats.duplicates}, failed {stats.failed}, parked {stats.parked}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    current.answer_for_names(stop)  # this region's answers about the names it arbitrates
    click.echo(f"consumers of {', '.join(chosen)} running; Ctrl-C stops them")
    current.broker.consume(stop, chosen)
