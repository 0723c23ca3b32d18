"""Bank transfers in: a credit carrying a checkout's payment reference pays that checkout, and
one carrying an invoice's reference pays that merchant order (a company on net terms pays each
merchant's invoice by the end of its terms).

An operator reports one (`cpu payments received REFERENCE AMOUNT CURRENCY`), or a bank
statement is imported (`cpu payments bank-import FILE`: CSV with the columns `date, reference,
amount, currency` and an optional `bank_id`, the bank's own transaction id; amount a decimal in
the currency's minor units). A credit that covers the checkout publishes
`payments.intent_updated` (authorised) to the checkout's region in the same transaction, so the
saga goes on exactly as after a card payment. An invoice credit books the buyer's payment for
its order in the merchant's region (payments.service.received), and ends escrow at once when
the goods have already arrived: until then the merchant's share of an invoice order waits,
since a payout would pay out money the marketplace never had.

The money of every credit is in the marketplace's bank account whatever it paid, so every credit
is recorded once (payments.models.BankCredit), in the region whose checkout or order it names,
or, naming none, in the region that received it: applied (to which checkout or invoice), or
unapplied with its reason (the checkout was cancelled meanwhile or is already paid, the credit
does not cover what is owed, the reference names nothing, the invoice is already paid). What an
unapplied credit brought, and what an applied one brought beyond what was owed, is the payer's:
it is posted to `unapplied_credits` (funds_held +x | unapplied_credits -x) and `cpu payments
returns` gives it back (unapplied_credits +x | funds_held -x), each credit once.

A credit is known again by its key, so importing a statement twice records nothing new: the
bank's transaction id when the line has one ("bank:<bank_id>"); otherwise its date, reference,
amount in minor units, currency, and its occurrence among the file's lines with those same four
("line:2026-12-04|CPU-…|1250|JMD|2"), so two genuine transfers alike in all four are two
credits. An operator's report is keyed as a one-line statement of the day it names (`--date`,
today by default) unless it gives the bank's id (`--bank-id`). Without bank ids, statements
must not overlap: the same transfer on a daily and on a monthly statement would be two lines of
two files, each the first of its kind.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from marketplace.money import Money, MoneyError
from marketplace.orders.checkout import INVOICE, PAYING
from marketplace.orders.models import Checkout, MerchantOrder
from marketplace.orders.saga import lock_order
from marketplace.regions import outbox
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments import service
from payments.ledger import Entry, post
from payments.models import BankCredit, LedgerPosting

INVOICE_PREFIX, ORDER_PREFIX = "INV-", "ord_"
# The returns file (`cpu payments returns`): CSV, UTF-8, one header line, one line per credit
# given back; `reference` and `bank_id` are the credit's, for the bank to return it against;
# `amount` is the decimal amount (as in the statement), `amount_minor` the same in minor units.
RETURN_COLUMNS = ("credit_id", "bank_id", "booked_on", "reference", "currency", "amount", "amount_minor", "reason")


@dataclass(frozen=True)
class Credit:
    reference: str
    amount: Money
    booked_on: str  # the statement's date (YYYY-MM-DD)
    key: str  # what makes it this credit and no other (the module's docstring)
    bank_id: str | None = None

    @classmethod
    def of(cls, reference: str, amount: Money, *, booked_on: str, bank_id: str | None = None,
           occurrence: int = 1) -> Credit:
        """Keyed by the bank's id when there is one, else by what the line says and its occurrence."""
        key = (f"bank:{bank_id}" if bank_id else
               f"line:{booked_on}|{reference}|{amount.amount}|{amount.currency}|{occurrence}")
        return cls(reference, amount, booked_on, key, bank_id)


@dataclass(frozen=True)
class Received:
    """What became of one credit: `held` (its currency's minor units) is what is owed back."""

    credit: Credit
    said: str
    applied: bool = False
    held: int = 0
    new: bool = True  # False: recorded before, nothing changed


@dataclass(frozen=True)
class _Decision:
    """What a credit pays: `act` pays it, in the unit of work that records the credit."""

    said: str
    applied_to: str | None = None
    paid: int = 0
    act: Callable[[], None] = lambda: None


class NotServed(Exception):
    """A credit naming nothing in the regions this process serves: another may hold what it pays."""


def received(router, regions, credit: Credit, *, receiving: str) -> Received:
    """Record one credit once and apply it if it pays something; `receiving` is the region whose
    bank account it came to, which keeps it when its reference names nothing. A credit recorded
    before, in whichever region, changes nothing (the key is unique in each region as well)."""
    for region in regions:
        with router.unit_of_work(region, read_only=True) as uow:
            known = uow.session.scalars(select(BankCredit).where(BankCredit.key == credit.key)).first()
        if known is not None:
            return Received(credit, f"{credit.reference}: recorded before ({known.id}, {known.outcome}), nothing changed",
                            applied=known.outcome == "applied", new=False)
    for region in regions:
        with router.unit_of_work(region) as uow:
            decided = _decide(uow.session, credit)
            if decided is not None:
                return _record(uow, credit, decided)
    if set(regions) != set(router.regions.regions):
        # A region not looked in may hold what it pays: recorded there as it is imported there,
        # never held here as the payer's while that region applies it too.
        raise NotServed(f"{credit.reference}: names nothing in {', '.join(regions)}; not recorded: import it where "
                        "every region is served, or in the region it names")
    with router.unit_of_work(receiving) as uow:
        return _record(uow, credit, _Decision(f"{credit.reference}: no checkout or invoice waits for this reference"))


def _decide(session, credit: Credit) -> _Decision | None:
    """What the credit pays in this region; None when its reference names nothing here."""
    checkout = session.scalars(lock_order(session, select(Checkout).where(
        Checkout.payment_reference == credit.reference))).first()
    if checkout is not None:
        return _pay_checkout(session, checkout, credit)
    order = _invoiced_order(session, credit.reference)
    return None if order is None else _pay_invoice(session, order, credit)


def _record(uow, credit: Credit, decided: _Decision) -> Received:
    """The credit as decided, with what of it is the payer's posted to unapplied_credits; committed."""
    session = uow.session
    decided.act()
    held = credit.amount.amount - decided.paid
    applied = decided.applied_to is not None
    row = BankCredit(id=new_id("bkc"), region=session.info["database"], key=credit.key, bank_id=credit.bank_id,
                     booked_on=credit.booked_on, reference=credit.reference, amount=credit.amount.amount,
                     currency=credit.amount.currency, outcome="applied" if applied else "unapplied",
                     applied_to=decided.applied_to, reason=None if applied else decided.said[:300], held=held)
    session.add(row)
    session.flush()
    said = decided.said
    if held:
        post(session, key=f"unapplied:{row.id}", kind="unapplied", memo=f"bank credit {credit.reference}", entries=[
            Entry("funds_held", held, credit.amount.currency), Entry("unapplied_credits", -held, credit.amount.currency)])
        said += f"; {Money(held, credit.amount.currency).plain()} {credit.amount.currency} held for return ({row.id})"
    uow.commit()
    return Received(credit, said, applied=applied, held=held)


def _pay_checkout(session, checkout: Checkout, credit: Credit) -> _Decision:
    if checkout.state != PAYING or checkout.payment_method != "bank_transfer":
        return _Decision(f"{credit.reference}: checkout {checkout.id} is {checkout.state}, nothing to pay")
    if session.scalar(select(BankCredit.id).where(BankCredit.applied_to == checkout.id)) is not None:
        return _Decision(f"{credit.reference}: checkout {checkout.id} is already paid")  # its saga is on its way
    owed = Money(checkout.total_amount, checkout.currency)
    if credit.amount.currency != owed.currency or credit.amount.amount < owed.amount:
        return _covers_not(credit, owed)

    def act() -> None:  # the saga goes on as after a card payment
        outbox.publish(session, "payments.intent_updated", {
            "checkout_id": checkout.id, "to_region": session.info["database"], "status": "authorised",
            "reference": credit.reference, "reason": None}, key=checkout.id)
    return _Decision(f"{credit.reference}: checkout {checkout.id} paid", applied_to=checkout.id, paid=owed.amount,
                     act=act)


def _pay_invoice(session, order: MerchantOrder, credit: Credit) -> _Decision:
    if order.payment_method != INVOICE:
        return _Decision(f"{credit.reference}: order {order.id} is not paid by invoice, nothing to pay")
    if session.scalar(select(LedgerPosting.id).where(LedgerPosting.key == f"payment:{order.id}")) is not None:
        return _Decision(f"{credit.reference}: the invoice of order {order.id} is already paid")
    owed = Money(service.owed(session, order), order.currency)
    if owed.amount == 0:
        return _Decision(f"{credit.reference}: order {order.id} is {order.state.replace('_', ' ')}, nothing to pay")
    if credit.amount.currency != owed.currency or credit.amount.amount < owed.amount:
        return _covers_not(credit, owed)

    def act() -> None:
        service.received(session, order=order, amount=owed.amount, paid=None, memo=f"invoice paid: {credit.reference}")
        if order.state in ("delivered", "completed"):  # the goods came before the money
            service.release(session, order_id=order.id, merchant_id=order.merchant_id, why="invoice paid after delivery")
    return _Decision(f"{credit.reference}: invoice of order {order.id} paid", applied_to=order.id, paid=owed.amount,
                     act=act)


def _covers_not(credit: Credit, owed: Money) -> _Decision:
    return _Decision(f"{credit.reference}: {credit.amount.plain()} {credit.amount.currency} does not cover "
                     f"{owed.plain()} {owed.currency}")


def invoice_reference(order_id: str) -> str:
    """The reference printed on a merchant order's invoice, for the company to write on its
    transfer; it names the order, so the credit finds its region's order without a lookup table."""
    return INVOICE_PREFIX + order_id.removeprefix(ORDER_PREFIX)


def _invoiced_order(session, reference: str) -> MerchantOrder | None:
    """The order an invoice reference names, locked: a cancellation refunding it at the same
    time must see either the payment or none of it."""
    if not reference.upper().startswith(INVOICE_PREFIX):
        return None
    order_id = ORDER_PREFIX + reference[len(INVOICE_PREFIX):].upper()
    return session.scalars(lock_order(session, select(MerchantOrder).where(MerchantOrder.id == order_id))).first()


def statement(path: Path) -> tuple[list[Credit], list[str]]:
    """The credits of a bank-statement CSV, and a problem naming each line that cannot be one
    (the others are still credits: one bad line must not hold up the money of the rest)."""
    credits, problems, seen = [], [], Counter()
    with path.open(encoding="utf-8", newline="") as rows:
        for n, row in enumerate(csv.DictReader(rows), start=2):
            try:
                reference, booked_on = row["reference"].strip(), row["date"].strip()
                amount = Money.parse(row["amount"], row["currency"].strip())
                bank_id = (row.get("bank_id") or "").strip() or None
                date.fromisoformat(booked_on)  # YYYY-MM-DD, or a ValueError naming it
                if not reference or len(reference) > 120 or (bank_id and len(bank_id) > 80):
                    raise ValueError("a reference of up to 120 characters is needed, and a bank_id has up to 80")
                if amount.amount <= 0:
                    raise ValueError(f"{row['amount']!r} is not a credit")
            except (KeyError, MoneyError, AttributeError, ValueError) as exc:
                problems.append(f"{path.name} line {n}: {exc}")
                continue
            seen[booked_on, reference, amount] += 1
            credits.append(Credit.of(reference, amount, booked_on=booked_on, bank_id=bank_id,
                                  occurrence=seen[booked_on, reference, amount]))
    return credits, problems


@dataclass(frozen=True)
class Returned:
    credit_id: str
    reference: str
    amount: Money


def returns(router, region: str, *, file: Path, progress=lambda returned: None) -> list[Returned]:
    """Give back every credit of `region` still holding money for its payer: one transaction
    each posts the return (keyed by the credit: posted once) and marks the credit returned, and
    only once that is committed is its line appended to `file`. Money going out must never go
    twice: a run stopped between the commit and the line leaves a credit recorded as returned
    with no line (listed by its returned_at, for the operator to add), never a second line."""
    with router.unit_of_work(region, read_only=True) as uow:
        waiting = uow.session.scalars(select(BankCredit.id).where(BankCredit.held > 0, BankCredit.returned_at.is_(None))
                                      .order_by(BankCredit.id)).all()
    done = []
    for credit_id in waiting:
        with router.unit_of_work(region) as uow:
            session = uow.session
            row = session.scalars(lock_order(session, select(BankCredit).where(
                BankCredit.id == credit_id, BankCredit.returned_at.is_(None)))).first()
            if row is None:  # another run gave it back meanwhile
                continue
            post(session, key=f"return:{row.id}", kind="credit_return", memo=f"bank credit {row.reference} returned",
                 entries=[Entry("unapplied_credits", row.held, row.currency), Entry("funds_held", -row.held, row.currency)])
            row.returned_at = database_now(session)
            held = Money(row.held, row.currency)
            line = {"credit_id": row.id, "bank_id": row.bank_id or "", "booked_on": row.booked_on,
                    "reference": row.reference, "currency": row.currency, "amount": held.plain(),
                    "amount_minor": row.held, "reason": row.reason or "paid more than was owed"}
            uow.commit()
        _append(file, line)
        made = Returned(credit_id, row.reference, held)
        progress(made)
        done.append(made)
    return done


def _append(path: Path, line: dict) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=RETURN_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(line)
