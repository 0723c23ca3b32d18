"""`cpu accounts ...`: merchant accounts from a shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.merchants import name_claims
from marketplace.platform import platform
from marketplace.regions import schema

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
