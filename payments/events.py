"""The payments consumers, in the merchant's region: escrow ends on delivery (and the cash of
a cash-on-delivery parcel is recorded) or when the buyer confirms receipt, a paid order
cancelled is refunded, and a refund is paid by the provider outside any transaction, keyed by
the refund id."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from marketplace.orders import saga, states
from marketplace.orders.models import MerchantOrder
from payments import service
from payments.models import LedgerEntry, LedgerPosting, Refund

CONSUMER = "payments.escrow"


def register_handlers(registry, router, payments) -> None:
    """`payments()` gives the provider (Platform.payments)."""
    registry.consumer(CONSUMER, "shipments.delivered", addressed=True, transactional=True)(delivered)
    registry.consumer(CONSUMER, "orders.cancelled", transactional=True)(cancelled)
    registry.consumer(CONSUMER, "orders.receipt.confirmed", addressed=True, transactional=True)(receipt_confirmed)
    registry.consumer("payments.refunds", "payments.refund.requested", addressed=True)(
        lambda envelope: pay_refund(router, payments(), envelope))


def delivered(envelope, session) -> None:
    """The postal operator delivered: the cash it collected is in, the merchant's share payable."""
    p = envelope.payload
    order = session.get(MerchantOrder, p["merchant_order_id"])
    if order is None:
        return
    cash = p.get("cash_collected")
    if cash:
        service.cash_collected(session, order=order, cash=cash)
    service.release(session, order_id=order.id, merchant_id=order.merchant_id, why="delivered")


def receipt_confirmed(envelope, session) -> None:
    """The buyer says the goods arrived (sent from the buyer's region): a shipped order is
    delivered, by the buyer, and escrow ends; a delivered one only ends escrow. Nothing else
    moves (an order cancelled or not shipped meanwhile stays as it is, and the buyer is told its
    state). Escrow still waits for money not in: a cash-on-delivery order's cash is booked by
    the operator's delivery event, which comes after."""
    p = envelope.payload
    order = session.scalars(saga.lock_order(session, select(MerchantOrder).where(MerchantOrder.id == p["order_id"]))).first()
    if order is None or order.merchant_id != p["merchant_id"]:
        return
    if order.state not in states.table()["receivable"]:
        return saga.tell_buyer(session, order, reason=f"The order is {order.state.replace('_', ' ')}: "
                                                      f"receipt was not recorded.")
    if states.move(session, order, "delivered", actor=p["actor"]):
        saga.tell_buyer(session, order, reason="Receipt confirmed.")
    service.release(session, order_id=order.id, merchant_id=order.merchant_id, why="receipt confirmed by the buyer")


def cancelled(envelope, session) -> None:
    """A cancelled order gives back what was collected; locked, so an invoice credit booked at
    the same moment (payments.bank) is either refunded here or refused there, never kept."""
    order = session.scalars(saga.lock_order(session, select(MerchantOrder).where(
        MerchantOrder.id == envelope.payload["order_id"]))).first()
    if order is not None:
        service.refund_rest(session, order=order)


def pay_refund(router, providers, envelope) -> None:
    """Ask the provider that took the order's payment (named on the merchant order: the checkout
    is in the buyer's region, which a region-local process does not open) to pay a refund, in
    the buyer's currency, then record that it did."""
    refund_id, region = envelope.payload["refund_id"], envelope.payload["to_region"]
    with router.unit_of_work(region, read_only=True) as uow:
        refund = uow.session.get(Refund, refund_id)
        if refund is None or refund.state != "requested":
            return
        amount, currency = buyer_amount(uow.session, refund, envelope.payload["amount"])
        order = uow.session.get(MerchantOrder, refund.order_id)
        provider, payment_key, reference = providers.named(order.payment_provider), refund.checkout_id, order.payment_reference
    move = provider.refund(key=refund_id, payment_key=payment_key, payment_reference=reference, amount=amount,
                           currency=currency)
    with router.unit_of_work(region) as uow:
        refund = uow.session.get(Refund, refund_id)
        refund.state, refund.provider_reference = "refunded", move.reference
        uow.commit()


def buyer_amount(session, refund: Refund, amount: int) -> tuple[int, str]:
    """`amount` of the refund (what was collected: the rest the buyer never paid) in the
    currency the buyer paid: its share of the buyer's amount, half up."""
    paid = session.scalars(select(LedgerEntry).join(LedgerPosting).where(
        LedgerPosting.key == f"payment:{refund.order_id}", LedgerEntry.account == "funds_held")).first()
    if paid is None or paid.original_currency is None:
        return amount, refund.currency
    share = Decimal(paid.original_amount) * amount / paid.amount
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP)), paid.original_currency
