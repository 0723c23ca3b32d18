"""`cpu payments ...`: payout runs, bank credits and reconciliation; `cpu fx load`: rates feeds."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import click
from flask.cli import AppGroup

from marketplace.money import Money
from marketplace.platform import platform
from marketplace.regions.cli import served
from payments import bank, fx, payouts, reconcile

payments = AppGroup("payments", help="Payouts to merchants and bank transfers from buyers.")
fx_group = AppGroup("fx", help="Exchange rates.")


@fx_group.command("load")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def load_rates(feed: Path, regions: tuple[str, ...]) -> None:
    """Load a rates feed (CSV or JSON rows: source, time, base, quote, rate) into each region."""
    try:
        rows = fx.feed(feed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for region in served(regions):
        with platform().router.unit_of_work(region) as uow:
            new = fx.load(uow.session, rows)
            uow.commit()
        click.echo(f"{region}: {new} new rate(s) of {len(rows)}")


@payments.command("payouts")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
@click.option("--bank-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bank-transfer payout file to write (CSV, appended; see payments/payouts.py).")
def run_payouts(regions: tuple[str, ...], bank_file: Path) -> None:
    """Pay every merchant its available balance by its rail; exit 1 if any payout failed (each
    is named: a refused one is back in the merchant's balance, one that may pass is retried by
    the next run under its own id)."""
    current = platform()
    total = failures = 0
    for region in served(regions):
        click.echo(f"{region}: paying out")
        tried = payouts.run(current.router, region, current.payments.payouts, bank_file=bank_file, progress=_tell)
        paid = sum(not p.failed for p in tried)
        click.echo(f"{region}: {paid} payout(s)" + (f", {len(tried) - paid} failed" if paid < len(tried) else ""))
        total, failures = total + paid, failures + len(tried) - paid
    click.echo(f"{total} payout(s); bank-transfer lines in {bank_file}" + (f"; {failures} failed" if failures else ""))
    if failures:
        raise SystemExit(1)


def _tell(p: payouts.Paid) -> None:
    line = f"  {p.payout_id} {p.merchant_id} {Money(p.amount, p.currency).plain()} {p.currency} by {p.rail}"
    if p.failed:
        then = "still sending, the next run retries it" if p.retried else "failed, the amount is back in the balance"
        line += f": NOT PAID ({then}): {p.failure}"
    click.echo(line, err=p.failed)


@payments.command("received")
@click.argument("reference")
@click.argument("amount")
@click.argument("currency")
def received(reference: str, amount: str, currency: str) -> None:
    """An operator saw a bank transfer carrying REFERENCE arrive (a checkout's, or an invoice's)."""
    click.echo(bank.received(platform().router, served(()), bank.Credit(reference, Money.parse(amount, currency))))


@payments.command("bank-import")
@click.argument("statement", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bank_import(statement: Path) -> None:
    """Apply every credit of a bank statement (CSV: date, reference, amount, currency)."""
    try:
        credits = bank.statement(statement)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for credit in credits:
        click.echo(bank.received(platform().router, served(()), credit))


@payments.command("reconcile")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="First day (UTC).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="Day after the last (UTC).")
@click.option("--bank-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The payouts as the bank executed them (payout_id, currency, amount_minor columns).")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def reconcile_command(since, until, bank_file: Path, regions: tuple[str, ...]) -> None:
    """List every difference between the ledger's payouts and the bank's file; exit 1 if any."""
    since, until = since.replace(tzinfo=timezone.utc), until.replace(tzinfo=timezone.utc)
    ledger, differences = {}, []
    for region in served(regions):
        wrong, made = reconcile.payouts(platform().router, region, since=since, until=until)
        differences += wrong
        ledger.update(made)
    differences += reconcile.compare(ledger, reconcile.bank_lines(bank_file))
    for difference in differences:
        click.echo(str(difference))
    click.echo(f"{len(ledger)} payout(s) in the ledger, {len(differences)} difference(s)")
    if differences:
        raise SystemExit(1)
