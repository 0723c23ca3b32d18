"""The checkout saga's steps after `checkout.start`, each an idempotent event consumer.

    buyer region                              merchant region
    checkout.start ── orders.requested ─────▶ take: price (price_for), reserve stock, create the
                                              order (pending payment) ── orders.answered ──┐
    record_answer ◀───────────────────────────────────────────────────────────────────────┘
      every leg answered, all accepted ── checkout.payment.requested ─▶ pay (payments provider)
        pending: wait for payments.intent_updated (Stripe's webhook, a bank credit)
        authorised ── orders.confirm ───────▶ confirm: commit the stock, order paid ─┐
        declined / any leg refused / a deadline passed                              │
                  ── orders.cancel ────────▶ cancel: release the stock, order        │
                                             cancelled ── orders.settled ────────────┤
    record_settled ◀─────────────────────────────────────────────────────────────────┘
      every leg settled ── checkout.payment.settle ─▶ capture the confirmed legs (or void)

Every event is addressed (`to_region`) and keyed by the checkout, so a merchant's consumer sees
a checkout's request before its confirm or cancel. Transactional consumers write their inbox
record with their step, so a redelivery is a no-op; the payment steps call the provider outside
any transaction, keyed by the checkout id, then records the outcome (a crash in between calls
it again, which the key makes harmless). A merchant region that does not answer by the
checkout's deadline (the buyer region's database clock, `sweep_deadlines`, a relay chore) has
its leg timed out and every leg cancelled; it refuses a request that reaches it after the
deadline, and its reservation expires on its own (inventory.sweep) in any case.

The payment has a deadline of its own (policy.toml, by method; the same clock and sweep): a
card the buyer never confirms would otherwise hold the checkout for ever while its stock goes
back on sale. Past it the checkout fails as a declined payment does: every leg cancelled, the
payment voided (`checkout.payment.settle`, keyed by the checkout). A payment authorised after
its checkout failed is voided again (refunded, if the provider had already captured it), never
left standing, and the checkout's reason says so.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import and_, or_, select

from marketplace.buyers import terms
from marketplace.catalog import service as catalog
from marketplace.errors import DomainError
from marketplace.inventory import service as inventory
from marketplace.inventory.errors import OutOfStock, ReservationSettled
from marketplace.merchants.models import Merchant
from marketplace.orders import cart, states
from marketplace.orders.checkout import COMPLETED, CONFIRMING, FAILED, INVOICE, PAYING, REQUESTED
from marketplace.orders.models import BuyerOrder, Checkout, MerchantOrder
from marketplace.regions import outbox
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from logistics.service import NoServiceFits
from payments import fx
from payments import service as ledger
from payments.gateways import AUTHORISED, DECLINED, PENDING, PaymentResult, ProviderError

MERCHANT, BUYER, PAYMENT = "orders.merchant", "checkout.buyer", "checkout.payment"
ANNOUNCED = ("orders.created", "orders.paid", "orders.cancelled", "orders.return_requested")
LATE = "The merchant's region did not answer before the checkout's deadline."
UNPAID = "The payment was not made before the checkout's payment deadline."
PAID_LATE = ("The payment came after the checkout had failed: it is given back (the authorisation cancelled, or "
             "the charge refunded in full).")
NO_TERMS = ("This merchant has not granted your company net payment terms, so it cannot be paid by invoice: "
            "choose another payment method, or ask the merchant for terms.")


def register_handlers(registry, router, payments) -> None:
    """The saga's consumers; `payments()` gives the PaymentProviders (Platform.payments): each
    payment's calls go to the provider named on its checkout (`named`), and the merchant's region
    learns that name from `orders.confirm`, so its refunds need not read the buyer's region."""
    on = registry.consumer
    on(MERCHANT, "orders.requested", addressed=True, transactional=True)(take)
    on(MERCHANT, "orders.confirm", addressed=True, transactional=True)(confirm)
    on(MERCHANT, "orders.cancel", addressed=True, transactional=True)(cancel)
    on(MERCHANT, "orders.return.requested", addressed=True, transactional=True)(return_requested)
    on(BUYER, "orders.answered", addressed=True, transactional=True)(record_answer)
    on(BUYER, "orders.settled", addressed=True, transactional=True)(record_settled)
    on(PAYMENT, "checkout.payment.requested", addressed=True)(lambda envelope: pay(router, payments(), envelope))
    on(PAYMENT, "payments.intent_updated", addressed=True, transactional=True)(intent_updated)
    on(PAYMENT, "checkout.payment.settle", addressed=True)(lambda envelope: settle_payment(router, payments(), envelope))
    registry.announce(*ANNOUNCED)


# The merchant's region --------------------------------------------------------------------

def take(envelope, session) -> None:
    """An order request: price every line for this buyer, reserve it all, create the order."""
    p = envelope.payload
    answer = {"checkout_id": p["checkout_id"], "merchant_id": p["merchant_id"], "to_region": p["buyer_region"]}
    now = database_now(session)
    if now >= datetime.fromisoformat(p["deadline_at"]):
        return _answer(session, envelope, outcome="rejected", reason=LATE, **answer)
    if p.get("payment_method") == INVOICE and terms.net_terms_for(session, p["merchant_id"], p.get("company_id")) is None:
        return _answer(session, envelope, outcome="rejected", reason=NO_TERMS,
                       problems={"payment_method": [NO_TERMS]}, **answer)
    priced, problems = [], {}
    for n, line in enumerate(p["lines"]):
        try:
            offer = catalog.offer_in(session, merchant_id=p["merchant_id"], variant_id=line["variant_id"],
                                     quantity=line["quantity"], company_id=p.get("company_id"), ship_to=p["ship_to"]["country"])
        except DomainError as exc:
            problems[f"lines.{n}"] = [exc.detail, *(f"{k}: {v}" for k, v in exc.extra().items())]
            continue
        priced.append({"variant_id": line["variant_id"], "sku": offer.sku, "name": offer.name, "quantity": line["quantity"],
                       "unit_price": offer.quote.unit_price, "total": offer.quote.total, "rule": offer.quote.rule,
                       "weight_g": offer.weight_g, "ships_from": offer.ships_from, "currency": offer.quote.currency,
                       **offer.customs})
    if problems:
        return _answer(session, envelope, outcome="rejected", reason="Some lines cannot be sold as asked.",
                       problems=problems, **answer)
    currency, goods = priced[0]["currency"], sum(line["total"] for line in priced)
    try:
        cost = cart.parcel_cost(ships_from=priced[0]["ships_from"], ship_to=p["ship_to"]["country"], currency=currency,
                                lines=priced)
    except NoServiceFits as exc:
        return _answer(session, envelope, outcome="rejected", reason=exc.detail, problems=exc.errors, **answer)
    order_id = new_id("ord")
    try:
        inventory.reserve(session, reservation_id=order_id, merchant_id=p["merchant_id"],
                          lines=[(line["variant_id"], line["quantity"]) for line in priced],
                          expires_in=timedelta(seconds=p["hold_seconds"]))
    except OutOfStock as exc:
        return _answer(session, envelope, outcome="rejected", reason="Out of stock.", problems={
            f"lines.{s.line}": [f"{s.requested} asked for, {s.available} available"] for s in exc.shortages}, **answer)
    order = MerchantOrder(id=order_id, region=session.info["database"], merchant_id=p["merchant_id"],
                          checkout_id=p["checkout_id"], buyer_region=p["buyer_region"], state=states.table()["initial"],
                          currency=currency, goods_amount=goods, shipping_amount=cost["shipping"], total_amount=cost["total"],
                          lines=[{k: line[k] for k in ("variant_id", "sku", "name", "quantity", "unit_price", "total")} for line in priced],
                          ship_to=p["ship_to"], created_at=now, updated_at=now)
    session.add(order)
    session.flush()
    states.record_initial(session, order, actor="checkout")
    announce(session, order, "orders.created")
    merchant = session.get(Merchant, p["merchant_id"])
    _answer(session, envelope, outcome="accepted", order_id=order_id, merchant_name=merchant.name if merchant else None,
            currency=currency, goods_amount=goods,
            shipping_amount=cost["shipping"], total_amount=cost["total"], lines=order.lines, **answer)


def confirm(envelope, session) -> None:
    """Payment authorised: the reservation becomes a sale, the order is paid."""
    order = _order(session, envelope.payload)
    if order is None or order.state != "pending_payment":
        return
    try:
        inventory.commit(session, reservation_id=order.id)
    except ReservationSettled:  # held past its time meanwhile: the units may be sold to another
        return _cancel_order(session, envelope, order, actor="checkout", reason="The stock hold ran out before payment.")
    if envelope.payload.get("payment") == "authorised" and states.move(session, order, "paid", actor="checkout"):
        p = envelope.payload
        ledger.capture(session, order=order, paid=p.get("paid"), method=p.get("method"),
                       provider=p.get("payment_provider"), reference=p.get("payment_reference"))
        announce(session, order, "orders.paid")
    _settled(session, envelope, order)


def cancel(envelope, session) -> None:
    """A compensation or a buyer's cancel: stock released, the order cancelled (if it was made)."""
    p = envelope.payload
    order = _order(session, p)
    if order is None:  # never taken (refused, or the request is still to come and will be too late)
        return _answer_settled(session, envelope, p, state="cancelled", order_id=None, reason=p.get("reason"))
    _cancel_order(session, envelope, order, actor=p.get("actor", "checkout"), reason=p.get("reason"))


def _cancel_order(session, envelope, order, *, actor: str, reason: str | None) -> None:
    try:
        cancel_order(session, order, actor=actor)
    except DomainError as exc:  # shipped meanwhile: the buyer is told why it stands
        reason = exc.detail
    _settled(session, envelope, order, reason=reason)


def cancel_order(session, order, *, actor: str) -> bool:
    """Cancel `order` as `actor` (the state machine decides) and give its stock back, held or
    sold, exactly once (inventory.give_back): the one way an order is cancelled, by the saga,
    the buyer or the merchant. Whether this call cancelled it."""
    moved = states.move(session, order, "cancelled", actor=actor)
    inventory.give_back(session, reservation_id=order.id)
    if moved:
        announce(session, order, "orders.cancelled")
    return moved


def return_requested(envelope, session) -> None:
    """A buyer's return request: accepted within the merchant's return window after delivery."""
    order = _order(session, envelope.payload)
    if order is None:
        return
    delivered = [t.at for t in order.transitions if t.to_state == "delivered"]
    window = timedelta(days=return_window_days(session, order.merchant_id))
    now = database_now(session)
    if order.state not in states.table()["returnable"] or not delivered:
        return _settled(session, envelope, order, reason=f"A return is accepted within {window.days} days of delivery.")
    if now > delivered[-1] + window:
        until = (delivered[-1] + window).strftime("%Y-%m-%d %H:%M UTC")
        return _settled(session, envelope, order, reason=f"Returns of this order were accepted until {until} "
                                                         f"({window.days} days after delivery); that time has passed.")
    if order.return_requested_at is None:
        order.return_requested_at = now
        announce(session, order, "orders.return_requested")
    _settled(session, envelope, order, reason="Return requested.")


def return_window_days(session, merchant_id: str) -> int:
    """The merchant's return window: its own setting, or the default of policy.toml."""
    from marketplace.orders.models import MerchantOrderSettings

    setting = session.get(MerchantOrderSettings, merchant_id)
    return setting.return_window_days if setting else policy()["return_window_days"]


@cache
def policy() -> dict:
    return tomllib.loads(Path(__file__).with_name("policy.toml").read_text(encoding="utf-8"))


def tell_buyer(session, order, *, reason: str | None = None) -> None:
    """The buyer's summary follows a merchant's move (an event to the buyer's region)."""
    _answer_settled(session, None, {"checkout_id": order.checkout_id, "merchant_id": order.merchant_id,
                                    "buyer_region": order.buyer_region}, state=order.state, order_id=order.id,
                    reason=reason, return_requested=order.return_requested_at is not None)


def _order(session, p) -> MerchantOrder | None:
    """The merchant order of a checkout leg, its row locked (PostgreSQL) so that a buyer's and
    a merchant's cancel, or a cancel and a confirm, take turns on it."""
    query = select(MerchantOrder).where(MerchantOrder.checkout_id == p["checkout_id"],
                                        MerchantOrder.merchant_id == p["merchant_id"])
    return session.scalars(lock_order(session, query)).first()


def lock_order(session, query):
    """`query` locking the merchant order rows it reads (PostgreSQL; SQLite has one writer)."""
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def _answer(session, envelope, **payload) -> None:
    outbox.publish(session, "orders.answered", payload, key=payload["checkout_id"], causation_id=envelope.event_id,
                   correlation_id=envelope.correlation_id)


def _settled(session, envelope, order, *, reason: str | None = None) -> None:
    _answer_settled(session, envelope, {"checkout_id": order.checkout_id, "merchant_id": order.merchant_id,
                                        "buyer_region": order.buyer_region}, state=order.state, order_id=order.id,
                    reason=reason, return_requested=order.return_requested_at is not None)


def _answer_settled(session, envelope, p, **payload) -> None:
    outbox.publish(session, "orders.settled", {"checkout_id": p["checkout_id"], "merchant_id": p["merchant_id"],
                                               "to_region": p["buyer_region"], **payload}, key=p["checkout_id"],
                   causation_id=envelope and envelope.event_id, correlation_id=envelope and envelope.correlation_id)


def announce(session, order, topic: str) -> None:
    """The order events merchants' webhooks (and mail) will consume."""
    outbox.publish(session, topic, {
        "order_id": order.id, "merchant_id": order.merchant_id, "region": order.region, "checkout_id": order.checkout_id,
        "state": order.state, "total": {"amount_minor": order.total_amount, "currency": order.currency},
        "lines": [{"variant_id": line["variant_id"], "sku": line["sku"], "name": line.get("name", line["sku"]),
                   "quantity": line["quantity"], "unit_price_minor": line["unit_price"]} for line in order.lines],
        "occurred_at": database_now(session).isoformat()}, key=order.id)


# The buyer's region -----------------------------------------------------------------------

def _checkout(session, checkout_id: str) -> Checkout | None:
    query = select(Checkout).where(Checkout.id == checkout_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # answers and the deadline sweep take turns
    return session.scalars(query).first()


def record_answer(envelope, session) -> None:
    """A merchant's answer: record it; when every leg answered, pay or compensate."""
    p = envelope.payload
    checkout = _checkout(session, p["checkout_id"])
    leg = next((leg for leg in checkout.legs if leg.merchant_id == p["merchant_id"]), None) if checkout else None
    if leg is None:
        return
    if leg.state != REQUESTED:  # timed out meanwhile: an order made late is cancelled
        if p["outcome"] == "accepted":
            _request_cancel(session, checkout, leg, reason=LATE)
        return
    leg.answered_at = database_now(session)
    leg.reason, leg.problems = p.get("reason"), p.get("problems")
    if p["outcome"] == "accepted":
        leg.state, leg.order_id, leg.lines, leg.merchant_name = "accepted", p["order_id"], p["lines"], p.get("merchant_name")
        leg.currency, leg.goods_amount, leg.shipping_amount, leg.total_amount = (
            p["currency"], p["goods_amount"], p["shipping_amount"], p["total_amount"])
        session.add(BuyerOrder(order_id=p["order_id"], region=checkout.region, buyer_id=checkout.buyer_id,
                               checkout_id=checkout.id, merchant_id=leg.merchant_id, merchant_region=leg.merchant_region,
                               state="pending_payment", currency=leg.currency, total_amount=leg.total_amount,
                               lines=leg.lines, created_at=leg.answered_at, updated_at=leg.answered_at))
    else:
        leg.state = "rejected"
    advance(session, checkout)


def advance(session, checkout: Checkout) -> None:
    """Once no leg waits: all accepted -> ask for payment; otherwise cancel every leg taken."""
    if checkout.state != REQUESTED or any(leg.state == REQUESTED for leg in checkout.legs):
        return
    if all(leg.state == "accepted" for leg in checkout.legs):
        rates = fx.rates_in(session)
        checkout.total_amount = sum(rates.convert(leg.total_amount, leg.currency, checkout.currency) for leg in checkout.legs)
        checkout.state, checkout.payment_deadline_at = PAYING, payment_deadline(session, checkout.payment_method)
        outbox.publish(session, "checkout.payment.requested", {"checkout_id": checkout.id, "to_region": checkout.region},
                       key=checkout.id)
        return
    failed = [leg for leg in checkout.legs if leg.state != "accepted"]
    fail(session, checkout, reason="; ".join(f"{leg.merchant_id}: {leg.reason}" for leg in failed))


def payment_deadline(session, method: str) -> datetime | None:
    """When a payment by `method` asked for now is too late (policy.toml), on this database's
    clock; None for a method that waits without a deadline."""
    seconds = policy()["payment_deadline_seconds"].get(method)
    return None if seconds is None else database_now(session) + timedelta(seconds=seconds)


def fail(session, checkout: Checkout, *, reason: str) -> None:
    checkout.state, checkout.reason, checkout.settled_at = FAILED, reason[:500], database_now(session)
    for leg in checkout.legs:
        if leg.state in ("accepted", "timed_out", REQUESTED):
            if leg.state == "accepted":
                leg.reason = leg.reason or "Cancelled: another part of the checkout did not go through."
            _request_cancel(session, checkout, leg, reason=leg.reason)


def _request_cancel(session, checkout, leg, *, reason: str | None) -> None:
    outbox.publish(session, "orders.cancel", {"checkout_id": checkout.id, "merchant_id": leg.merchant_id,
                                              "to_region": leg.merchant_region, "buyer_region": checkout.region,
                                              "actor": "checkout", "reason": reason}, key=checkout.id)


def record_settled(envelope, session) -> None:
    """A merchant's order confirmed or cancelled: the leg and the buyer's summary follow."""
    p = envelope.payload
    checkout = _checkout(session, p["checkout_id"])
    if checkout is None:
        return
    leg = next((leg for leg in checkout.legs if leg.merchant_id == p["merchant_id"]), None)
    summary = session.get(BuyerOrder, p["order_id"]) if p.get("order_id") else None
    if summary is not None:
        summary.state, summary.updated_at, summary.note = p["state"], database_now(session), p.get("reason")
        summary.return_requested = bool(p.get("return_requested"))
    if leg is not None and leg.state in ("accepted", "confirmed") and p["state"] != "pending_payment":
        leg.state = "cancelled" if p["state"] == "cancelled" else "confirmed"
        if p.get("reason") and leg.state == "cancelled":
            leg.reason = p["reason"]
    if checkout.state == CONFIRMING and all(leg.state in ("confirmed", "cancelled") for leg in checkout.legs):
        checkout.state, checkout.settled_at = COMPLETED, database_now(session)
        _settle(session, checkout)
        _confirmed(session, checkout)


def _confirmed(session, checkout: Checkout) -> None:
    """Tell the buyer (marketplace.notifications, in this, the buyer's region, where the
    address is): every confirmed order of the checkout, with its merchant and total."""
    orders = [{"order_id": leg.order_id, "merchant_name": leg.merchant_name or leg.merchant_id,
               "total": {"amount_minor": leg.total_amount, "currency": leg.currency}}
              for leg in checkout.legs if leg.state == "confirmed"]
    if orders:
        outbox.publish(session, "checkouts.confirmed", {"checkout_id": checkout.id, "buyer_id": checkout.buyer_id,
                                                        "region": checkout.region, "orders": orders}, key=checkout.id)


def sweep_deadlines(router, region: str, *, batch: int = 100) -> int:
    """Time out checkouts past a deadline (the database clock): the legs that did not answer,
    the rest compensated; or the payment not made, every leg cancelled and the payment voided."""
    with router.unit_of_work(region) as uow:
        now = database_now(uow.session)
        due = select(Checkout).where(or_(and_(Checkout.state == REQUESTED, Checkout.deadline_at <= now),
                                         and_(Checkout.state == PAYING, Checkout.payment_deadline_at <= now))).limit(batch)
        if uow.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        checkouts = list(uow.session.scalars(due))
        for checkout in checkouts:
            if checkout.state == PAYING:
                _payment_failed(uow.session, checkout, reason=UNPAID,
                                leg_reason="Cancelled: the payment was not made before the checkout's payment deadline.")
                continue
            for leg in checkout.legs:
                if leg.state == REQUESTED:
                    leg.state, leg.reason = "timed_out", LATE
            advance(uow.session, checkout)
        uow.commit()
    return len(checkouts)


# Payment (buyer's region, outside any transaction while the provider is called) ------------

def pay(router, provider, envelope) -> None:
    """Ask the provider for the checkout's payment; record what it answered. A provider error
    that may pass is retried (the event is delivered again); one that will not is a decline."""
    checkout_id, region = envelope.payload["checkout_id"], envelope.payload["to_region"]
    with router.unit_of_work(region, read_only=True) as uow:
        checkout = uow.session.get(Checkout, checkout_id)
        if checkout is None or checkout.state != PAYING:
            return
        amount, currency, method, name = (checkout.total_amount, checkout.currency, checkout.payment_method,
                                          checkout.payment_provider)
    try:
        result = provider.named(name).create_payment(key=checkout_id, amount=amount, currency=currency,
                                                     method=method, transfer_group=checkout_id, region=region)
    except ProviderError as exc:
        if exc.retryable:
            raise  # the delivery is retried, with the same key
        result = PaymentResult(DECLINED, reference=f"error:{checkout_id}", reason=str(exc))
    with router.unit_of_work(region) as uow:
        checkout = _checkout(uow.session, checkout_id)
        if checkout.state == PAYING:
            checkout.payment_client_secret = result.client_secret
            apply_payment(uow.session, checkout, status=result.status, reference=result.reference, reason=result.reason)
        elif checkout.state == FAILED:  # its deadline passed while the provider answered: void what it made
            _settle(uow.session, checkout)
        uow.commit()


def intent_updated(envelope, session) -> None:
    """A pending payment's outcome (Stripe's webhook, a bank credit): applied once, and never to
    a checkout that has moved on (a late "declined" does not undo a confirmed checkout). One
    authorised after its checkout failed (confirmed past the payment deadline, or with another
    card after a decline) is voided again, and the checkout's reason tells the buyer."""
    p = envelope.payload
    checkout = _checkout(session, p["checkout_id"])
    if checkout is None:
        return
    if checkout.state == PAYING and p["status"] != PENDING:
        apply_payment(session, checkout, status=p["status"], reference=p.get("reference") or checkout.payment_reference,
                      reason=p.get("reason"))
    elif checkout.state == FAILED and p["status"] == AUTHORISED:
        if PAID_LATE not in (checkout.reason or ""):
            checkout.reason = f"{(checkout.reason or '')[:500 - len(PAID_LATE) - 1]} {PAID_LATE}".lstrip()
        _settle(session, checkout)


def apply_payment(session, checkout: Checkout, *, status: str, reference: str, reason: str | None) -> None:
    """authorised: confirm every leg; declined: compensate; pending: wait for intent_updated."""
    checkout.payment_reference, checkout.payment_status = reference, status
    if status == PENDING:
        return
    if status == AUTHORISED:
        checkout.state = CONFIRMING
        rates = fx.rates_in(session)
        for leg in checkout.legs:
            outbox.publish(session, "orders.confirm", {
                "checkout_id": checkout.id, "merchant_id": leg.merchant_id, "to_region": leg.merchant_region,
                "buyer_region": checkout.region, "payment": status, "method": checkout.payment_method,
                "payment_provider": checkout.payment_provider, "payment_reference": checkout.payment_reference,
                "paid": {"amount_minor": rates.convert(leg.total_amount, leg.currency, checkout.currency),
                         "currency": checkout.currency, "rate": str(rates.rate(checkout.currency, leg.currency)),
                         "source": rates.source}}, key=checkout.id)
        return
    _payment_failed(session, checkout, reason=f"The payment was declined: {reason}",
                    leg_reason=f"Cancelled: the payment was declined ({reason}).")


def _payment_failed(session, checkout: Checkout, *, reason: str, leg_reason: str) -> None:
    """A payment that will not come (declined, or not made by its deadline): every leg cancelled,
    and the payment voided, since a declined card's PaymentIntent could still be confirmed with
    another card in the app, and an unconfirmed one later: no money is authorised for a
    checkout that has failed."""
    for leg in checkout.legs:
        leg.reason = leg_reason
    checkout.payment_client_secret = None  # nothing left for the app to confirm
    fail(session, checkout, reason=reason)
    _settle(session, checkout)


def _settle(session, checkout: Checkout) -> None:
    """Ask for the payment to be settled: captured for the confirmed legs, or voided."""
    outbox.publish(session, "checkout.payment.settle", {"checkout_id": checkout.id, "to_region": checkout.region},
                   key=checkout.id)


def settle_payment(router, provider, envelope) -> None:
    """Every leg settled: capture what the confirmed legs cost, or void when none was."""
    checkout_id, region = envelope.payload["checkout_id"], envelope.payload["to_region"]
    with router.unit_of_work(region, read_only=True) as uow:
        checkout = uow.session.get(Checkout, checkout_id)
        if checkout is None:
            return
        rates = fx.rates_in(uow.session)
        amount = sum(rates.convert(leg.total_amount, leg.currency, checkout.currency)
                     for leg in checkout.legs if leg.state == "confirmed")
        provider = provider.named(checkout.payment_provider)
    if amount:
        provider.capture(key=checkout_id, amount=amount)
    else:
        provider.void(key=checkout_id)
