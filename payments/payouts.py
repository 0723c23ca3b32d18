"""Payout runs: each merchant's available balance, per currency, paid by the rail of its money.

The rail is a property of the money as much as of the merchant: a Stripe Connect transfer
comes out of the platform's Stripe balance, which holds only what buyers paid through Stripe.
So an order's share goes by Connect only when its payment went through Stripe
(merchant_orders.payment_provider) and the merchant's Connect rail is open (rails_of: Stripe
reaches its country and its connected account has payouts enabled); every other share (bank
transfer, invoice, cash on delivery, a stand-in card, an order whose provider is not recorded)
goes by the bank-transfer file, which reaches everyone. A merchant with both is paid twice,
one payout per rail, each posting only its own orders' entries.

One transaction per merchant and currency posts the payouts (merchant_available +x per order |
funds_held -x) and records each Payout ("sending"); only then is the money sent: a Stripe
transfer keyed by the payout id (a retry repeats nothing), or a line in the run's bank-transfer
file. A merchant whose available balance is zero or less (a reversal it still owes) is not paid;
where one rail's orders owe more than they are owed, they are netted into the other rail's
payout, which then pays less than that rail's own money (never more, so Connect still never
moves money Stripe did not take).

A transfer Stripe refuses for good (not retryable: the account cannot take it, say) marks the
payout "failed" and posts its reversal (funds_held +x | merchant_available -x per order, a new
posting), so the money is the merchant's to be paid again, by whatever rail it has by the next
run. One that may pass (Stripe unreachable, busy) leaves the payout "sending": every run first
sends its region's sending payouts again under their own ids, so Stripe pays each once (the
transfer is looked up first, for a retry after Stripe forgot the key: StripeProvider.transfer),
a bank payout's line is in one file only (_write_line), and a merchant is paid nothing new in a
currency while one is still sending. A failure is reported and the run goes on with the others.

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
from marketplace.orders.models import MerchantOrder
from marketplace.money import Money
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments import rails
from payments.gateways import ProviderError
from payments.ledger import Entry, post
from payments.models import LedgerEntry, LedgerPosting, Payout
from payments.stripe import accounts
from payments.stripe.models import StripeAccount

BANK_FILE = "bank-file:"  # a bank payout's reference: the file its line went to
FILE_COLUMNS = ("payout_id", "merchant_id", "merchant_name", "legal_name", "country", "currency", "amount",
                "amount_minor", "created_at")


STRIPE = "stripe"  # the provider whose payments land in the platform's Stripe balance


@dataclass(frozen=True)
class Rails:
    """Where each of a merchant's money goes: what buyers paid through Stripe (`stripe_money`),
    and everything else (always the bank file). `why` says why Stripe money is not on Connect
    (None when it is, or when this marketplace takes no payment through Stripe at all)."""

    stripe_money: str
    why: str | None = None
    other_money: str = rails.BANK_TRANSFER


def rails_of(session, merchant: Merchant | None, provider_name: str) -> Rails:
    """The merchant's rails: Connect for its Stripe money where payout_rails.toml says Stripe
    reaches its country, payouts go through Stripe, and its connected account has payouts
    enabled (payments/stripe/accounts.py); otherwise the bank-transfer file. The one answer the
    payout run, the balance statement, the API and the dashboard give."""
    if merchant is None or provider_name != STRIPE:
        return Rails(rails.BANK_TRANSFER)
    if rails.rail_for(merchant.home_country).name != rails.STRIPE_CONNECT:
        return Rails(rails.BANK_TRANSFER, f"Stripe Connect does not reach merchants in {merchant.home_country}.")
    why = accounts.why_not_paid_out(session.get(StripeAccount, merchant.id))
    return Rails(rails.BANK_TRANSFER if why else rails.STRIPE_CONNECT, why)


def describe_rail(router, principal, provider_name: str) -> dict:
    """The merchant's rails as its owner and staff see them (API and dashboard): which money goes
    which way and why, with its connected account and the state Stripe gave of it for an owner
    only, as the balance is (the account is where the business's money goes)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
        found = rails_of(uow.session, merchant, provider_name)
        account = uow.session.get(StripeAccount, principal.merchant_id) if principal.is_owner else None
        return {"rail": found.stripe_money, "description": rails.description(found.stripe_money),
                # Stripe's requirements and restriction are the owner's business, as the account is
                "country": merchant.home_country, "why": found.why if principal.is_owner else None,
                "by_payment": [{"paid_through": STRIPE, "rail": found.stripe_money},
                               {"paid_through": "other", "rail": found.other_money}],
                "stripe_account_id": account.account_id if account else None,
                "stripe_account": None if account is None else {
                    "payouts_enabled": account.payouts_enabled, "charges_enabled": account.charges_enabled,
                    "details_submitted": account.details_submitted, "requirements_due": account.requirements_due or []}}


def refresh_account(provider, principal) -> None:
    """Read the merchant's connected account back from Stripe and record its state (its owner
    is back from Stripe's onboarding); nothing without Stripe or without an account."""
    if provider is not None:
        provider.refresh_account(principal.merchant_id)


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
    The payouts still sending from an earlier run (one that failed or was stopped) are sent first. Every payout tried is
    returned and given to `progress`, failed ones too (`Paid.failed`)."""
    with router.unit_of_work(region, read_only=True) as uow:
        sending = [(p.id, p.merchant_id, p.currency) for p in uow.session.scalars(
            select(Payout).where(Payout.state == "sending").order_by(Payout.created_at, Payout.id))]
    tried = [_send(router, region, provider, payout_id, bank_file) for payout_id, _, _ in sending]
    waiting = {(p.merchant_id, p.currency) for p in tried if p.retried}
    for made in tried:
        progress(made)
    with router.unit_of_work(region, read_only=True) as uow:
        due = [(m, c) for m, c, _ in owed(uow.session) if (m, c) not in waiting]
    for merchant_id, currency in due:
        with router.unit_of_work(region) as uow:
            posted = [p.id for p in pay_out(uow.session, merchant_id=merchant_id, currency=currency,
                                            provider_name=provider.name)]
            uow.commit()
        for payout_id in posted:
            made = _send(router, region, provider, payout_id, bank_file)
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
        try:
            reference = _write_line(router, region, payout, line, bank_file)
        except NotWritten as exc:
            return replace(paid, failure=str(exc), retried=True)
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


def pay_out(session, *, merchant_id: str, currency: str, provider_name: str) -> list[Payout]:
    """Post the payouts of the merchant's available balance in `currency`, one per rail of its
    money (none when nothing is available). On PostgreSQL the balance's entries are locked
    first: a second payout run at the same time waits, then sums what the first left (nothing),
    instead of paying the same balance twice."""
    available = (LedgerEntry.account == "merchant_available", LedgerEntry.merchant_id == merchant_id,
                 LedgerEntry.currency == currency)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(LedgerEntry.id).where(*available).with_for_update()).all()
    merchant = session.get(Merchant, merchant_id)
    now, mine, made = database_now(session), {"merchant_id": merchant_id, "currency": currency}, []
    for rail, per_order in due(session, merchant_id=merchant_id, currency=currency,
                               money_rails=rails_of(session, merchant, provider_name)).items():
        amount = -sum(total for _, total in per_order)
        payout = Payout(id=new_id("pyo"), region=session.info["database"], merchant_id=merchant_id, currency=currency,
                        amount=amount, rail=rail, state="sending", created_at=now)
        post(session, key=f"payout:{payout.id}", kind="payout", merchant_id=merchant_id, memo=rail, entries=[
            *(Entry("merchant_available", -total, order_id=order_id, **mine) for order_id, total in per_order),
            Entry("funds_held", -amount, **mine)])
        session.add(payout)
        made.append(payout)
    session.flush()
    return made


def due(session, *, merchant_id: str, currency: str, money_rails: Rails) -> dict[str, list[tuple[str | None, int]]]:
    """rail -> [(order, available entries' sum)] of what the next payout run pays the merchant
    in `currency`, by the rail of each order's money (the module's docstring); only rails
    that are owed something, and nothing when the merchant is owed nothing."""
    rows = session.execute(
        select(LedgerEntry.order_id, MerchantOrder.payment_provider, func.sum(LedgerEntry.amount))
        .outerjoin(MerchantOrder, MerchantOrder.id == LedgerEntry.order_id)
        .where(LedgerEntry.account == "merchant_available", LedgerEntry.merchant_id == merchant_id,
               LedgerEntry.currency == currency)
        .group_by(LedgerEntry.order_id, MerchantOrder.payment_provider)
        .having(func.sum(LedgerEntry.amount) != 0)  # not every order ever paid out
        .order_by(LedgerEntry.order_id)).all()
    by_rail: dict[str, list[tuple[str | None, int]]] = {}
    for order_id, provider, total in rows:
        by_rail.setdefault(money_rails.stripe_money if provider == STRIPE else money_rails.other_money, []).append(
            (order_id, int(total)))
    owed = {rail: -sum(total for _, total in per_order) for rail, per_order in by_rail.items()}
    if sum(owed.values()) <= 0:
        return {}
    paying = [rail for rail in by_rail if owed[rail] > 0]
    if len(paying) == len(by_rail):
        return by_rail
    return {paying[0]: [row for per_order in by_rail.values() for row in per_order]}  # netted (the docstring)


def file_line(session, payout: Payout) -> dict:
    merchant = session.get(Merchant, payout.merchant_id)
    return {"payout_id": payout.id, "merchant_id": payout.merchant_id, "merchant_name": merchant.name if merchant else "",
            "legal_name": (merchant.legal_name or "") if merchant else "",
            "country": merchant.home_country if merchant else "", "currency": payout.currency,
            "amount": Money(payout.amount, payout.currency).plain(), "amount_minor": payout.amount,
            "created_at": payout.created_at.isoformat()}


class NotWritten(Exception):
    """A bank payout's line could not be put in a file now: it stays sending, and is reported."""


def _write_line(router, region: str, payout: Payout, line: dict, bank_file: Path) -> str:
    """Put the payout's line in a bank file once; the reference its payout is sent with.

    A run stopped between writing a line and recording its payout as sent leaves the payout
    sending; the next run must neither leave it unpaid nor put it in a second file the bank
    would pay again. So the file a line goes to is recorded on the payout before the line is
    written: the next run finds the line there (recorded as sent) or not (written to its own
    file). When that file is gone, nobody here can tell whether the bank has it: the payout
    stays sending and is reported, for the operator to settle with the bank."""
    target = _target(payout.provider_reference, bank_file)
    if target is not None:
        if not target.exists():
            raise NotWritten(f"payout {payout.id} was being written to {target}, which is gone: ask the bank "
                                    "whether it was paid before paying it again")
        if _holds(target, payout.id):
            return f"{BANK_FILE}{target.name}"
    _start(bank_file)
    with router.unit_of_work(region) as uow:
        writing = uow.session.get(Payout, payout.id, with_for_update=True)
        if (writing.state, writing.provider_reference) != ("sending", payout.provider_reference):
            raise NotWritten(f"payout {payout.id} is being sent by another payout run meanwhile")
        where = str(bank_file.resolve())
        writing.provider_reference = f"{BANK_FILE}{where if len(BANK_FILE + where) <= 120 else bank_file.name}"
        uow.commit()
    _append(bank_file, line)
    return f"{BANK_FILE}{bank_file.name}"


def _target(reference: str | None, bank_file: Path) -> Path | None:
    """The file a sending payout's line was being written to (a bare name: beside this run's)."""
    if not reference or not reference.startswith(BANK_FILE):
        return None
    named = Path(reference.removeprefix(BANK_FILE))
    return named if named.is_absolute() else bank_file.parent / named


def _holds(path: Path, payout_id: str) -> bool:
    with path.open(encoding="utf-8", newline="") as rows:
        return any(row.get("payout_id") == payout_id for row in csv.DictReader(rows))


def _start(path: Path) -> None:
    """The file exists, with its header, before any payout names it as where its line goes."""
    if not path.exists() or path.stat().st_size == 0:
        with path.open("a", encoding="utf-8", newline="") as out:
            csv.DictWriter(out, fieldnames=FILE_COLUMNS).writeheader()


def _append(path: Path, line: dict) -> None:
    with path.open("a", encoding="utf-8", newline="") as out:
        csv.DictWriter(out, fieldnames=FILE_COLUMNS).writerow(line)
