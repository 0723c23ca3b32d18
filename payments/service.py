"""A merchant order's money in the ledger, in the merchant's region (docs/decisions/0008):

    capture     buyer_clearing +total | merchant_held -net, fee_revenue -fee, customs_collected -duties
    payment     funds_held +total (the buyer's amount and rate kept) | buyer_clearing -total
                (at capture; for cash on delivery when the postal operator's delivery event
                reports the cash: what the buyer owes, never more, a shortfall kept held)
    release     merchant_held +held | merchant_available -held   (delivered, receipt confirmed,
                or N days after the parcels' last tracking event with no delivery: escrow ends)
    refund      merchant_held/available +net part, fee_revenue +fee part, customs_collected +duty
                part | buyer_clearing (not yet paid) or funds_held -amount
    reversal    funds_held +x | merchant_available -x  (the merchant was already paid: take it back)

A refund is split over the order's net, fee and duties in proportion to what remains of each
(ledger.split: no unit lost or invented), and never exceeds what remains. Each function is one
step of a transaction the caller owns; each posting is keyed, so a redelivered event posts once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, or_, select

from logistics.models import Shipment, TrackingEvent
from marketplace.money import Money, apply_basis_points
from marketplace.orders.models import OrderTransition
from marketplace.regions import outbox
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments.gateways import OFFLINE_METHODS, OfflineProvider
from payments.ledger import PAYABLE, Entry, balances, post, refusal, settings, split
from payments.models import LedgerEntry, LedgerPosting, Refund

log = logging.getLogger(__name__)

COD = "cash_on_delivery"
# Methods whose money is not in hand when the order is captured: the postal operator collects
# cash on delivery, a company pays its invoice at the end of its net terms. Their payment is
# posted when that money comes, and escrow never releases a share whose money is not in.
COLLECTED_LATER = (COD, "invoice")


def fee_for(goods: int) -> int:
    """The marketplace fee on an order's goods (ledger.toml's basis points, rounded half up)."""
    return goods - apply_basis_points(goods, settings()["fee_basis_points"])


def capture(session, *, order, paid: dict | None, method: str | None, provider: str | None,
            reference: str | None = None) -> None:
    """The order is paid: the buyer's money is owed, the merchant's share held in escrow. The
    order keeps its method (for cash on delivery the post collects, and its delivery event
    books the cash: logistics.tracking, cash_due), and the provider that took the payment with
    its reference (a Stripe PaymentIntent's id): its refunds are paid there (payments.events).
    An orders.confirm from a buyer's region not yet upgraded names no provider: an offline
    method's is the offline provider (as migration 0024 says of older orders); a card's stays
    unknown, and its refund is refused by name rather than recorded as paid by nobody."""
    if provider is None and method in OFFLINE_METHODS:
        provider = OfflineProvider.name
    order.payment_method, order.payment_provider, order.payment_reference = method, provider, reference
    fee, duties = fee_for(order.goods_amount), max(order.total_amount - order.goods_amount - order.shipping_amount, 0)
    mine = {"merchant_id": order.merchant_id, "order_id": order.id, "currency": order.currency}
    post(session, key=f"capture:{order.id}", kind="capture", merchant_id=order.merchant_id, entries=[
        Entry("buyer_clearing", order.total_amount, **mine),
        Entry("merchant_held", -(order.total_amount - fee - duties), **mine),
        Entry("fee_revenue", -fee, **mine), Entry("customs_collected", -duties, **mine)])
    if method not in COLLECTED_LATER:
        received(session, order=order, amount=order.total_amount, paid=paid)


def received(session, *, order, amount: int, paid: dict | None, memo: str | None = None) -> None:
    """The buyer's money is in (the provider's capture, or the postal operator's cash)."""
    mine = {"merchant_id": order.merchant_id, "order_id": order.id, "currency": order.currency}
    converted = {}
    if paid and paid["currency"] != order.currency:  # the rate the buyer's region converted at
        converted = {"original_amount": paid["amount_minor"], "original_currency": paid["currency"],
                     "fx_rate": paid["rate"], "fx_source": paid["source"]}
    post(session, key=f"payment:{order.id}", kind="payment", merchant_id=order.merchant_id, memo=memo, entries=[
        Entry("funds_held", amount, **mine, **converted), Entry("buyer_clearing", -amount, **mine)])


def cash_due(session, order) -> dict | None:
    """What the postman collects for a cash-on-delivery order: what its buyer still owes (the
    order's total in its currency, less what was refunded before the cash came), as
    {"amount_minor", "currency"}; None for an order paid otherwise, or owing nothing."""
    if order.payment_method != COD:
        return None
    owed = _owed(_order_balances(session, order.id), order.currency)
    return {"amount_minor": owed, "currency": order.currency} if owed > 0 else None


def cash_collected(session, *, order, cash: dict) -> int:
    """The postal operator reports the cash of a cash-on-delivery parcel: it is booked as the
    buyer's payment, never more than the buyer owes (a larger figure is the operator's to give
    back) and never in another currency. Less than owed is booked as it came, with the
    shortfall in the posting's memo and the log, and escrow stays held (release waits until
    nothing is owed) until the operator's remittance settles it. Returns the shortfall."""
    owed = _owed(_order_balances(session, order.id), order.currency)
    if cash.get("currency") != order.currency:
        log.warning("cash on delivery for order %s reported in %s, owed in %s: not booked", order.id,
                    cash.get("currency"), order.currency)
        return owed
    amount = min(int(cash["amount_minor"]), owed)
    short = owed - amount
    memo = (f"cash on delivery {Money(short, order.currency).plain()} {order.currency} short of what the buyer "
            f"owed: the operator's remittance settles it") if short else "cash on delivery"
    if amount > 0:
        received(session, order=order, amount=amount, paid=None, memo=memo)
    if short:
        log.warning("cash on delivery for order %s: %s of %s %s collected, escrow stays held", order.id, amount,
                    owed, order.currency)
    return short


def owed(session, order) -> int:
    """What the buyer still owes for `order`, in its currency: nothing once paid, less what was
    refunded before the money came."""
    return _owed(_order_balances(session, order.id), order.currency)


def _owed(balances_of_order: dict[tuple[str, str], int], currency: str) -> int:
    """What the buyer still owes for an order (buyer_clearing, a debit)."""
    return max(balances_of_order.get(("buyer_clearing", currency), 0), 0)


def release(session, *, order_id: str, merchant_id: str, why: str) -> int:
    """Escrow ends (delivered, receipt confirmed, or the waiting time passed): what was held
    for the order becomes available for the next payout. Returns the amount released; nothing
    while the buyer's money for the order is not all in (cash not yet reported or short, an
    invoice unpaid), since a payout would then pay out money the marketplace never had."""
    if session.scalar(select(LedgerPosting.id).where(LedgerPosting.key == f"payment:{order_id}")) is None:
        return 0
    held = _order_balances(session, order_id)
    if any(account == "buyer_clearing" and amount > 0 for (account, _), amount in held.items()):
        return 0
    posted = 0
    for (account, currency), amount in held.items():
        if account == "merchant_held" and amount < 0:
            mine = {"merchant_id": merchant_id, "order_id": order_id, "currency": currency}
            post(session, key=f"release:{order_id}", kind="release", merchant_id=merchant_id, memo=why, entries=[
                Entry("merchant_held", -amount, **mine), Entry("merchant_available", amount, **mine)])
            posted -= amount
    return posted


def remaining(session, order_id: str) -> tuple[int, int, int]:
    """(merchant's net, fee, duties) of the order not yet refunded: payouts and reversals move
    the merchant's share, they do not change what the buyer may still get back."""
    rows = session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount)).join(LedgerPosting)
        .where(LedgerEntry.order_id == order_id, LedgerPosting.kind.in_(("capture", "refund")))
        .group_by(LedgerEntry.account))
    by_account = {account: -int(total) for account, total in rows}
    return (sum(by_account.get(a, 0) for a in PAYABLE), by_account.get("fee_revenue", 0),
            by_account.get("customs_collected", 0))


def refund(session, *, order, amount: int, refund_id: str | None = None) -> Refund:
    """Give the buyer back `amount` of the order (its currency); refused beyond what remains.
    The provider pays it after the commit (payments.refund.requested)."""
    parts = remaining(session, order.id)
    left = sum(parts)
    if not isinstance(amount, int) or amount <= 0:
        raise refusal("A refund is a positive whole number of minor units.")
    if amount > left:
        raise refusal(f"A refund of {Money(amount, order.currency).plain()} {order.currency} is more than the "
                      f"{Money(left, order.currency).plain()} that remains of order {order.id}.")
    net, fee, duties = split(amount, list(parts))
    refund_id = refund_id or new_id("rfd")
    now = _order_balances(session, order.id)
    held, available = -now.get(("merchant_held", order.currency), 0), -now.get(("merchant_available", order.currency), 0)
    from_held = min(net, max(held, 0))
    from_available = net - from_held
    mine = {"merchant_id": order.merchant_id, "order_id": order.id, "currency": order.currency}
    if from_available > available:  # already paid out: take the difference back from the merchant
        post(session, key=f"reversal:{refund_id}", kind="reversal", merchant_id=order.merchant_id,
             memo="transfer reversal for a refund", entries=[
                 Entry("funds_held", from_available - available, **mine),
                 Entry("merchant_available", -(from_available - available), **mine)])
    owed = min(amount, max(now.get(("buyer_clearing", order.currency), 0), 0))  # cash on delivery not collected yet
    post(session, key=f"refund:{refund_id}", kind="refund", merchant_id=order.merchant_id, entries=[
        Entry("merchant_held", from_held, **mine), Entry("merchant_available", from_available, **mine),
        Entry("fee_revenue", fee, **mine), Entry("customs_collected", duties, **mine),
        Entry("buyer_clearing", -owed, **mine), Entry("funds_held", -(amount - owed), **mine)])
    made = Refund(id=refund_id, region=session.info["database"], merchant_id=order.merchant_id, order_id=order.id,
                  checkout_id=order.checkout_id, amount=amount, currency=order.currency, state="requested")
    session.add(made)
    if amount == owed:  # nothing was collected: the buyer simply owes less, nobody pays anything back
        made.state, made.provider_reference = "refunded", "not collected"
    else:
        outbox.publish(session, "payments.refund.requested", {"refund_id": refund_id, "to_region": made.region,
                                                              "amount": amount - owed}, key=order.id)
    return made


def refund_rest(session, *, order) -> Refund | None:
    """A paid order cancelled: everything that remains goes back to the buyer."""
    left = sum(remaining(session, order.id))
    return refund(session, order=order, amount=left) if left else None


def _order_balances(session, order_id: str) -> dict[tuple[str, str], int]:
    return balances(session, LedgerEntry.order_id == order_id)


def release_due(router, region: str, *, batch: int = 100) -> int:
    """Escrow ends by itself `release_after_days` (ledger.toml) after delivery attempts end
    when no delivery event came: counted from the later of the hand-over and the latest
    tracking event of the order's outbound parcels (the operator's event time: a parcel still
    being tried keeps its order held; an event dated in the future is not counted, or one
    operator's clock could hold an order for ever), on the database clock. Only orders whose
    buyer's money is all in are candidates: the others (an invoice on 60 days' terms, cash not
    yet collected) would come back first in every pass and stall the rest. A relay chore: how
    many orders it released."""
    days = settings()["release_after_days"]
    with router.unit_of_work(region) as uow:
        session = uow.session
        now = database_now(session)
        cutoff = now - timedelta(days=days)
        held = (select(LedgerEntry.order_id, LedgerEntry.merchant_id).where(LedgerEntry.account == "merchant_held")
                .group_by(LedgerEntry.order_id, LedgerEntry.merchant_id).having(func.sum(LedgerEntry.amount) < 0).subquery())
        paid = (select(LedgerEntry.order_id).where(LedgerEntry.account == "buyer_clearing")
                .group_by(LedgerEntry.order_id).having(func.sum(LedgerEntry.amount) <= 0).subquery())
        shipped = (select(OrderTransition.order_id, func.max(OrderTransition.at).label("at"))
                   .where(OrderTransition.to_state == "shipped").group_by(OrderTransition.order_id).subquery())
        tracked = (select(Shipment.order_id, func.max(TrackingEvent.occurred_at).label("at"))
                   .join(TrackingEvent, TrackingEvent.shipment_id == Shipment.id)
                   .where(Shipment.kind == "outbound", TrackingEvent.occurred_at <= now)
                   .group_by(Shipment.order_id).subquery())
        due = session.execute(
            select(held.c.order_id, held.c.merchant_id).join(paid, paid.c.order_id == held.c.order_id)
            .join(shipped, shipped.c.order_id == held.c.order_id)
            .outerjoin(tracked, tracked.c.order_id == held.c.order_id)
            .where(shipped.c.at <= cutoff, or_(tracked.c.at.is_(None), tracked.c.at <= cutoff))
            .order_by(held.c.order_id).limit(batch)).all()
        released = sum(1 for order_id, merchant_id in due if release(
            session, order_id=order_id, merchant_id=merchant_id, why=f"{days} days after delivery attempts ended"))
        uow.commit()
    return released  # not those still waiting for their money: a chore that reports work is run again at once
