"""Payout runs: each merchant's available balance, per currency, paid by its rail.

One transaction per merchant and currency posts the payout (merchant_available +x per order |
funds_held -x) and records the Payout ("sending"); only then is the money sent: a Stripe
transfer keyed by the payout id (a retry repeats nothing), or a line in the run's bank-transfer
file. A merchant whose available balance is zero or less (a reversal it still owes) is not paid.

A transfer Stripe refuses for good (not retryable: the account cannot take it, say) marks the
payout "failed" and posts its reversal (funds_held +x | merchant_available -x per order, a new
posting), so the money is the merchant's to be paid again, by whatever rail it has by the next
run. One that may pass (Stripe unreachable, busy) leaves the payout "sending": every run first
sends its region's sending Stripe payouts again under their own ids, so Stripe pays each once,
and pays a merchant nothing new in a currency while one is still sending. A failure is
reported and the run goes on with the other merchants.

The bank-transfer file is CSV, UTF-8, one header line, one line per payout, columns:
    payout_id, merchant_id, merchant_name, legal_name, country, currency, amount, amount_minor, created_at
`amount` is the decimal amount in the currency's ISO 4217 minor units ("1234.50", "1234" for
JPY-like currencies), `amount_minor` the same in minor units; `payout_id` is the reference the
bank transfer must carry (reconciliation matches the bank's lines back by it). Bank details
are the operator's to add from the merchant's onboarding file; none are stored here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, select

from marketplace.merchants.models import Merchant
from marketplace.money import Money
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments import rails
from payments.gateways import ProviderError
from payments.ledger import Entry, post
from payments.models import LedgerEntry, LedgerPosting, Payout
from payments.stripe.models import StripeAccount

FILE_COLUMNS = ("payout_id", "merchant_id", "merchant_name", "legal_name", "country", "currency", "amount",
                "amount_minor", "created_at")


def rail_of(session, merchant: Merchant | None, provider_name: str) -> str:
    """The rail a payout to `merchant` takes: Stripe Connect where payout_rails.toml says Stripe
    reaches its country, payouts go through Stripe and the merchant has a connected account
    (onboarded: payouts_api); otherwise the bank-transfer file, which reaches every merchant.
    The one answer the payout run, the balance statement, the API and the dashboard give."""
    if merchant is None or provider_name != "stripe" or rails.rail_for(merchant.home_country).name != rails.STRIPE_CONNECT:
        return rails.BANK_TRANSFER
    return rails.STRIPE_CONNECT if session.get(StripeAccount, merchant.id) is not None else rails.BANK_TRANSFER


def describe_rail(router, principal, provider_name: str) -> dict:
    """The merchant's rail as its owner and staff see it (API and dashboard), with its connected
    account when it has one: for an owner only, as the balance is (the account is where the
    business's money goes)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
        rail = rail_of(uow.session, merchant, provider_name)
        account = uow.session.get(StripeAccount, principal.merchant_id)
        return {"rail": rail, "description": rails.description(rail), "country": merchant.home_country,
                "stripe_account_id": account.account_id if account and principal.is_owner else None}


@dataclass(frozen=True)
class Paid:
    payout_id: str
    merchant_id: str
    currency: str
    amount: int
    rail: str
    failure: str | None = None  # why the provider did not pay it (then not paid, see `retried`)
    retried: bool = False  # a failure that may pass: the payout is still sending, the next run retries it

    @property
    def failed(self) -> bool:
        return self.failure is not None


def owed(session) -> list[tuple[str, str, int]]:
    """(merchant, currency, amount) of every positive available balance in this region."""
    rows = session.execute(select(LedgerEntry.merchant_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
                           .where(LedgerEntry.account == "merchant_available")
                           .group_by(LedgerEntry.merchant_id, LedgerEntry.currency).order_by(LedgerEntry.merchant_id))
    return [(merchant, currency, -int(total)) for merchant, currency, total in rows if total < 0]


def run(router, region: str, provider, *, bank_file: Path, progress=lambda paid: None) -> list[Paid]:
    """Pay every merchant of `region` what is available to it; bank-file lines go to `bank_file`.
    The Stripe payouts still sending from an earlier run are sent first. Every payout tried is
    returned and given to `progress`, failed ones too (`Paid.failed`)."""
    with router.unit_of_work(region, read_only=True) as uow:
        sending = [(p.id, p.merchant_id, p.currency) for p in uow.session.scalars(
            select(Payout).where(Payout.state == "sending", Payout.rail == rails.STRIPE_CONNECT).order_by(Payout.created_at))]
    tried = [_send(router, region, provider, payout_id, bank_file) for payout_id, _, _ in sending]
    waiting = {(p.merchant_id, p.currency) for p in tried if p.retried}
    for made in tried:
        progress(made)
    with router.unit_of_work(region, read_only=True) as uow:
        due = [(m, c) for m, c, _ in owed(uow.session) if (m, c) not in waiting]
    for merchant_id, currency in due:
        with router.unit_of_work(region) as uow:
            payout = pay_out(uow.session, merchant_id=merchant_id, currency=currency, provider_name=provider.name)
            uow.commit()
        if payout is not None:
            made = _send(router, region, provider, payout.id, bank_file)
            tried.append(made)
            progress(made)
    return tried


def _send(router, region, provider, payout_id: str, bank_file: Path) -> Paid:
    """Send a posted payout by its rail and record the outcome (see the module's docstring)."""
    with router.unit_of_work(region, read_only=True) as uow:
        payout = uow.session.get(Payout, payout_id)
        line = file_line(uow.session, payout)
    paid = Paid(payout.id, payout.merchant_id, payout.currency, payout.amount, payout.rail)
    if payout.rail == rails.STRIPE_CONNECT:
        try:
            reference = provider.transfer(key=payout.id, destination=payout.merchant_id, amount=payout.amount,
                                          currency=payout.currency, transfer_group=payout.id).reference
        except ProviderError as exc:
            if not exc.retryable:
                with router.unit_of_work(region) as uow:
                    failed(uow.session, uow.session.get(Payout, payout.id, with_for_update=True), reason=str(exc))
                    uow.commit()
            return replace(paid, failure=str(exc), retried=exc.retryable)
    else:
        _append(bank_file, line)
        reference = f"bank-file:{bank_file.name}"
    with router.unit_of_work(region) as uow:
        sent = uow.session.get(Payout, payout.id)
        sent.state, sent.provider_reference = "sent", reference
        uow.commit()
    return paid


def failed(session, payout: Payout, *, reason: str) -> None:
    """The provider refused the payout for good: it is failed, and a reversal of its posting
    (entry by entry) gives the money back to the merchant's available balance. Only a payout
    still sending: one another run has meanwhile recorded as sent was paid."""
    if payout.state != "sending":
        return
    paid_out = session.scalars(select(LedgerEntry).join(LedgerPosting).where(LedgerPosting.key == f"payout:{payout.id}"))
    post(session, key=f"payout_failed:{payout.id}", kind="payout_failed", merchant_id=payout.merchant_id,
         memo=reason[:300], entries=[Entry(e.account, -e.amount, e.currency, merchant_id=e.merchant_id, order_id=e.order_id)
                                     for e in paid_out])
    payout.state, payout.provider_reference = "failed", None


def pay_out(session, *, merchant_id: str, currency: str, provider_name: str) -> Payout | None:
    """Post the payout of the merchant's available balance in `currency` (None when there is none).
    On PostgreSQL the balance's entries are locked first: a second payout run at the same time
    waits, then sums what the first left (nothing), instead of paying the same balance twice."""
    available = (LedgerEntry.account == "merchant_available", LedgerEntry.merchant_id == merchant_id,
                 LedgerEntry.currency == currency)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(LedgerEntry.id).where(*available).with_for_update()).all()
    per_order = session.execute(
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount)).where(*available).group_by(LedgerEntry.order_id)).all()
    amount = -sum(int(total) for _, total in per_order)
    if amount <= 0:
        return None
    merchant = session.get(Merchant, merchant_id)
    payout = Payout(id=new_id("pyo"), region=session.info["database"], merchant_id=merchant_id, currency=currency,
                    amount=amount, rail=rail_of(session, merchant, provider_name),
                    state="sending", created_at=database_now(session))
    mine = {"merchant_id": merchant_id, "currency": currency}
    post(session, key=f"payout:{payout.id}", kind="payout", merchant_id=merchant_id, memo=payout.rail, entries=[
        *(Entry("merchant_available", -int(total), order_id=order_id, **mine) for order_id, total in per_order),
        Entry("funds_held", -amount, **mine)])
    session.add(payout)
    session.flush()
    return payout


def file_line(session, payout: Payout) -> dict:
    merchant = session.get(Merchant, payout.merchant_id)
    return {"payout_id": payout.id, "merchant_id": payout.merchant_id, "merchant_name": merchant.name if merchant else "",
            "legal_name": (merchant.legal_name or "") if merchant else "",
            "country": merchant.home_country if merchant else "", "currency": payout.currency,
            "amount": Money(payout.amount, payout.currency).plain(), "amount_minor": payout.amount,
            "created_at": payout.created_at.isoformat()}


def _append(path: Path, line: dict) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FILE_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(line)
