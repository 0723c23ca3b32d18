"""Bank transfers in: a credit carrying a checkout's payment reference pays that checkout.

An operator reports one (`cpu payments received REFERENCE AMOUNT CURRENCY`), or a bank
statement is imported (`cpu payments bank-import FILE`: CSV with the columns `date, reference,
amount, currency`, amount a decimal in the currency's minor units). A credit that covers the
checkout publishes `payments.intent_updated` (authorised) to the checkout's region in the same
transaction, so the saga goes on exactly as after a card payment; a short or unknown credit is
reported back, never applied.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from marketplace.money import Money, MoneyError
from marketplace.orders.checkout import PAYING
from marketplace.orders.models import Checkout
from marketplace.regions import outbox


@dataclass(frozen=True)
class Credit:
    reference: str
    amount: Money


def received(router, regions, credit: Credit) -> str:
    """Apply one credit; what happened, in words."""
    for region in regions:
        with router.unit_of_work(region) as uow:
            checkout = uow.session.scalars(select(Checkout).where(Checkout.payment_reference == credit.reference)).first()
            if checkout is None:
                continue
            if checkout.state != PAYING or checkout.payment_method != "bank_transfer":
                return f"{credit.reference}: checkout {checkout.id} is {checkout.state}, nothing to pay"
            owed = Money(checkout.total_amount, checkout.currency)
            if credit.amount.currency != owed.currency or credit.amount.amount < owed.amount:
                return f"{credit.reference}: {credit.amount.plain()} {credit.amount.currency} does not cover {owed.plain()} {owed.currency}"
            outbox.publish(uow.session, "payments.intent_updated", {
                "checkout_id": checkout.id, "to_region": region, "status": "authorised", "reference": credit.reference,
                "reason": None}, key=checkout.id)
            uow.commit()
            return f"{credit.reference}: checkout {checkout.id} paid"
    return f"{credit.reference}: no checkout waits for this reference"


def statement(path: Path) -> list[Credit]:
    """The credits of a bank-statement CSV; a line that cannot be money is an error naming it."""
    credits = []
    with path.open(encoding="utf-8", newline="") as rows:
        for n, row in enumerate(csv.DictReader(rows), start=2):
            try:
                credits.append(Credit(row["reference"].strip(), Money.parse(row["amount"], row["currency"].strip())))
            except (KeyError, MoneyError, AttributeError) as exc:
                raise ValueError(f"{path.name} line {n}: {exc}") from exc
    return credits
