"""`cpu inventory ...`: stock from a shell."""

from __future__ import annotations

from flask.cli import AppGroup
import click

from marketplace.inventory import service
from marketplace.platform import platform
from marketplace.regions.cli import replay_in_each, served

inventory = AppGroup("inventory", help="Stock and the reservations checkouts hold.")


@inventory.command("sweep")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def sweep(regions: tuple[str, ...]) -> None:
    """Release the stock reservations past their time (relays do it every few seconds)."""
    router = platform().router
    replay_in_each(served(regions), lambda region: service.sweep(router, region), "expired reservation(s)",
                   done="released", verb="released")
