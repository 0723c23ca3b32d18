"""`cpu payments ...`: payout runs, bank credits and reconciliation; `cpu fx load`: rates feeds."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import click
from flask.cli import AppGroup

from marketplace.money import Money, MoneyError
from marketplace.platform import platform
from marketplace.regions.cli import served
from payments import bank, customs_remittance, fx, payouts, reconcile

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


RECEIVING = click.option("--region", "receiving", help="The region whose bank account received the money: a credit "
                         "whose reference names nothing is kept there for return (default: the first this process serves).")


@payments.command("received")
@click.argument("reference")
@click.argument("amount")
@click.argument("currency")
@click.option("--date", "booked_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day it came (default: today, UTC).")
@click.option("--bank-id", help="The bank's own id of the transaction, when known (the same id is one credit).")
@RECEIVING
def received(reference: str, amount: str, currency: str, booked_on, bank_id: str | None, receiving: str | None) -> None:
    """An operator saw a bank transfer carrying REFERENCE arrive (a checkout's, or an invoice's).
    Without --bank-id, the same reference, amount and currency reported twice on one day is one
    credit (payments/bank.py)."""
    try:
        money = Money.parse(amount, currency)
    except MoneyError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from exc
    day = (booked_on or datetime.now(timezone.utc)).strftime("%Y-%m-%d")
    _apply([bank.Credit.of(reference, money, booked_on=day, bank_id=bank_id)], [], receiving)


@payments.command("bank-import")
@click.argument("statement", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@RECEIVING
def bank_import(statement: Path, receiving: str | None) -> None:
    """Apply every credit of a bank statement (CSV: date, reference, amount, currency, and
    bank_id when the bank gives one); importing it again changes nothing. Exit 1 if a line could
    not be read (named; the others are applied)."""
    _apply(*bank.statement(statement), receiving)


def _apply(credits: list[bank.Credit], problems: list[str], receiving: str | None) -> None:
    """Each credit recorded and applied, a line each saying what became of it, then the totals."""
    regions = served(())
    receiving = served((receiving,))[0] if receiving else regions[0]
    for problem in problems:
        click.echo(f"NOT READ: {problem}", err=True)
    outcomes = Counter()
    held: dict[str, int] = defaultdict(int)
    for credit in credits:
        try:
            done = bank.received(platform().router, regions, credit, receiving=receiving)
        except bank.NotServed as exc:
            problems.append(str(exc))
            click.echo(f"NOT RECORDED: {exc}", err=True)
            continue
        click.echo(done.said)
        outcomes["recorded before" if not done.new else "applied" if done.applied else "unapplied"] += 1
        if done.new:
            held[credit.amount.currency] += done.held
    counts = ", ".join(f"{outcomes[o]} {o}" for o in ("applied", "unapplied", "recorded before"))
    money = ", ".join(f"{Money(amount, currency).plain()} {currency}" for currency, amount in sorted(held.items()) if amount)
    click.echo(f"{len(credits)} credit(s): {counts}; held for return: {money or 'nothing'}"
               + (f"; {len(problems)} line(s) not read or not recorded" if problems else ""))
    if problems:
        raise SystemExit(1)


@payments.command("returns")
@click.option("--region", required=True, help="The region whose held credits to give back.")
@click.option("--file", "returns_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The returns file to write (CSV, appended; columns in payments/bank.py, RETURN_COLUMNS).")
def returns(region: str, returns_file: Path) -> None:
    """Give back to their payers the credits that paid nothing and what credits paid beyond what
    was owed: a line each in the returns file, posted once; a second run returns nothing again."""
    [region] = served((region,))
    click.echo(f"{region}: returning held bank credits")
    done = bank.returns(platform().router, region, file=returns_file,
                        progress=lambda r: click.echo(f"  {r.credit_id} {r.reference} {r.amount.plain()} {r.amount.currency}"))
    total: dict[str, int] = defaultdict(int)
    for r in done:
        total[r.amount.currency] += r.amount.amount
    money = ", ".join(f"{Money(amount, currency).plain()} {currency}" for currency, amount in sorted(total.items()))
    click.echo(f"{len(done)} credit(s) returned" + (f" ({money}); lines in {returns_file}" if done else ""))


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


@payments.command("remit-customs")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
@click.option("--file", "remittance_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The customs remittance file to write (CSV, appended; see payments/customs_remittance.py).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only orders delivered before this day (UTC); default: every delivered order.")
def remit_customs(regions: tuple[str, ...], remittance_file: Path, until) -> None:
    """Pay each destination's customs the duties and taxes of its delivered orders, one
    remittance per country and currency; an order is remitted once, so a second run pays nothing twice."""
    until = until.replace(tzinfo=timezone.utc) if until else None
    remittances = orders = 0
    for region in served(regions):
        click.echo(f"{region}: remitting duties and taxes")
        made = customs_remittance.run(platform().router, region, remittance_file=remittance_file, until=until,
                                      progress=_tell_remitted)
        with platform().router.unit_of_work(region, read_only=True) as uow:
            waiting = [o for o in customs_remittance.outstanding(uow.session) if o.waiting_orders]
        click.echo(f"{region}: {len(made)} remittance(s) of {sum(r.orders for r in made)} order(s)" + "".join(
            f"; {o.country} {Money(o.waiting, o.currency).plain()} {o.currency} of {o.waiting_orders} order(s) "
            f"waits for delivery or payment" for o in waiting))
        remittances, orders = remittances + len(made), orders + sum(r.orders for r in made)
    click.echo(f"{remittances} remittance(s) of {orders} order(s); lines in {remittance_file}")


def _tell_remitted(r) -> None:
    to = customs_remittance.authority_of(r.country) or r.country
    click.echo(f"  {r.remittance_id} {r.country} {Money(r.amount, r.currency).plain()} {r.currency} "
               f"for {r.orders} order(s) to {to}")


@payments.command("customs-owed")
@click.option("--region", "regions", multiple=True, help="Only these regions (repeatable).")
def customs_owed(regions: tuple[str, ...]) -> None:
    """Duties and taxes collected and not yet remitted, per region, destination and currency:
    what the next `remit-customs` pays, and what waits for its parcels' delivery or its buyer's money."""
    for region in served(regions):
        with platform().router.unit_of_work(region, read_only=True) as uow:
            rows = customs_remittance.outstanding(uow.session)
        click.echo(f"{region}: " + ("nothing collected and not remitted" if not rows else f"{len(rows)} destination(s)"))
        for o in rows:
            click.echo(f"  {o.country} {o.currency}: due {Money(o.due, o.currency).plain()} ({o.due_orders} order(s)), "
                       f"waiting {Money(o.waiting, o.currency).plain()} ({o.waiting_orders} order(s))")
