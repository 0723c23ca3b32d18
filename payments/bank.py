"""Bank transfers in: a credit carrying a checkout's payment reference pays that checkout, and
one carrying an invoice's reference pays that merchant order (a company on net terms pays each
merchant's invoice by the end of its terms).

An operator reports one (`cpu payments received REFERENCE AMOUNT CURRENCY`), or a bank
statement is imported (`cpu payments bank-import FILE`: CSV with the columns `date, reference,
amount, currency`, amount a decimal in the currency's minor units). A credit that covers the
checkout publishes `payments.intent_updated` (authorised) to the checkout's region in the same
transaction, so the saga goes on exactly as after a card payment; a short or unknown credit is
reported back, never applied. An invoice credit books the buyer's payment for its order in the
merchant's region (payments.service.received), and ends escrow at once when the goods have
already arrived: until then the merchant's share of an invoice order waits, since a payout
would pay out money the marketplace never had.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from marketplace.money import Money, MoneyError
from marketplace.orders.checkout import INVOICE, PAYING
from marketplace.orders.models import Checkout, MerchantOrder
from marketplace.orders.saga import lock_order
from marketplace.regions import outbox
from payments import service
from payments.models import LedgerPosting

INVOICE_PREFIX, ORDER_PREFIX = "INV-", "ord_"


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
                order = _invoiced_order(uow.session, credit.reference)
                if order is None:
                    continue
                said = _pay_invoice(uow.session, order, credit)
                uow.commit()
                return said
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
    return f"{credit.reference}: no checkout or invoice waits for this reference"


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


def _pay_invoice(session, order: MerchantOrder, credit: Credit) -> str:
    if order.payment_method != INVOICE:
        return f"{credit.reference}: order {order.id} is not paid by invoice, nothing to pay"
    if session.scalar(select(LedgerPosting.id).where(LedgerPosting.key == f"payment:{order.id}")) is not None:
        return f"{credit.reference}: the invoice of order {order.id} is already paid"
    owed = Money(service.owed(session, order), order.currency)
    if owed.amount == 0:
        return f"{credit.reference}: order {order.id} is {order.state.replace('_', ' ')}, nothing to pay"
    if credit.amount.currency != owed.currency or credit.amount.amount < owed.amount:
        return f"{credit.reference}: {credit.amount.plain()} {credit.amount.currency} does not cover {owed.plain()} {owed.currency}"
    service.received(session, order=order, amount=owed.amount, paid=None, memo=f"invoice paid: {credit.reference}")
    if order.state in ("delivered", "completed"):  # the goods came before the money
        service.release(session, order_id=order.id, merchant_id=order.merchant_id, why="invoice paid after delivery")
    return f"{credit.reference}: invoice of order {order.id} paid"


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
