"""`cpu accounts ...`: merchant accounts from a shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.merchants import directory_pointers, name_claims
from marketplace.platform import platform
from marketplace.regions import schema
from marketplace.regions.cli import served

accounts = AppGroup("accounts", help="Merchant accounts and their staff users.")


@accounts.command("sweep")
def sweep() -> None:
    """Settle the handles and emails that sign-ups and staff additions left pending: confirm
    those whose account was written, release those whose lease ran out without one. Safe to
    run at any time, from several places at once (a cron job every few minutes)."""
    current = platform()
    schema.require_head(current.router)
    swept = name_claims.sweep(router=current.router)
    click.echo(f"confirmed {swept.confirmed}, released {swept.released}, still pending {swept.pending}")
    if swept.unreachable:
        raise click.ClickException(f"not reachable: {', '.join(sorted(swept.unreachable))}; "
                                   "their claims stay pending until a sweep reaches them")


@accounts.command("announce")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def announce(regions: tuple[str, ...]) -> None:
    """Publish the directory pointer of every party homed here, so that a region's copy of the
    directory made after them learns them (docs/decisions/0004). Safe to run again."""
    current = platform()
    schema.require_head(current.router)
    for region in served(regions):
        count = directory_pointers.announce_all(router=current.router, region=region)
        click.echo(f"{region} {count} pointer(s) announced")
