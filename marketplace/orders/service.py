"""Orders as merchants and buyers read and move them.

Merchants read their orders on their own shard (tenant: the principal's merchant; role: any
staff or key may read, `move` needs the merchant's staff or an API key, like stock). Buyers
read their order summaries in their own region, newest first, a page at a time (the cursor is
the last order id seen: ids sort by time), ask for a cancel or a return, and confirm receipt:
the request goes to the merchant's region as an event, where the state machine decides, and
the answer comes back to the summary (`orders.settled`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Text, cast, select

from marketplace.buyers.identity import BuyerPrincipal
from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.orders import saga, states
from marketplace.orders.models import BuyerOrder, MerchantOrder, MerchantOrderSettings
from marketplace.regions import outbox
from marketplace.regions.base import database_now
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router

PAGE = 50


def list_for_merchant(*, router: Router, principal: Principal, state: str | None = None, placed_from: date | None = None,
                      placed_to: date | None = None, search: str | None = None, after: str | None = None,
                      limit: int = PAGE) -> list[MerchantOrder]:
    """The merchant's orders, newest first; `after` is the last id of the page before. Filters:
    a state, the days placed (from and to, both included, UTC), and `search`: an order id, or a
    SKU one of its lines has (exactly)."""
    query = select(MerchantOrder).where(MerchantOrder.merchant_id == principal.merchant_id)
    if state is not None:
        query = query.where(MerchantOrder.state == state)
    if placed_from is not None:
        query = query.where(MerchantOrder.created_at >= _midnight(placed_from))
    if placed_to is not None:
        query = query.where(MerchantOrder.created_at < _midnight(placed_to + timedelta(days=1)))
    if search:
        query = query.where(_matching(search))
    if after is not None:
        query = query.where(MerchantOrder.id < after)
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(query.order_by(MerchantOrder.id.desc()).limit(limit)))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _matching(search: str):
    """An order id, or a line's SKU: the lines are JSON, stored as json.dumps writes them (and
    PostgreSQL's jsonb prints them), so `"sku": "<SKU>"` is in their text exactly when a line
    has that SKU. LIKE's wildcards in what was typed are escaped."""
    if is_id(search, "ord"):
        return MerchantOrder.id == search
    literal = json.dumps({"sku": search})[1:-1]
    escaped = literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(MerchantOrder.lines, Text).like(f"%{escaped}%", escape="\\")


def get_for_merchant(*, router: Router, principal: Principal, order_id: str) -> MerchantOrder:
    """One of the merchant's orders, with its lines, address and transitions."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return _merchants(uow.session, principal, order_id)


def move(*, router: Router, principal: Principal, order_id: str, to_state: str) -> MerchantOrder:
    """The merchant moves an order (in fulfilment, completed, cancelled, ...), as the table
    allows. Paid, shipped and delivered are refused with how they come (states.toml [how]):
    they book the buyer's money and count the escrow clock, so a merchant's word would leave a
    payment unbooked or pay for goods never sent."""
    with router.unit_of_work(principal.region) as uow:
        order = _merchants(uow.session, principal, order_id, lock=True)
        actor = f"merchant:{principal.staff_id or principal.api_key_id}"
        how = states.table()["how"].get(to_state)
        if how and order.state != to_state:
            raise Conflict(f"Order {order.id} is {order.state.replace('_', ' ')}. {how}")
        if to_state == "cancelled":
            moved = saga.cancel_order(uow.session, order, actor=actor)
        else:
            moved = states.move(uow.session, order, to_state, actor=actor)
        if moved:
            saga.tell_buyer(uow.session, order)
        uow.commit()
        return order


def _merchants(session, principal: Principal, order_id: str, *, lock: bool = False) -> MerchantOrder:
    order = None
    if is_id(order_id, "ord"):
        query = select(MerchantOrder).where(MerchantOrder.id == order_id)
        order = session.scalars(saga.lock_order(session, query) if lock else query).first()
    if order is None or order.merchant_id != principal.merchant_id:
        raise NotFound(f"No order {order_id}.")
    _ = order.transitions
    return order


def order_settings(*, router: Router, principal: Principal) -> dict:
    """The merchant's order terms: its return window (policy.toml's default until it sets one)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return {"return_window_days": saga.return_window_days(uow.session, principal.merchant_id)}


def set_return_window(*, router: Router, principal: Principal, days: int) -> dict:
    """Set how many days after delivery buyers may ask for a return (owners: a term of trade)."""
    principal.require_owner("change the order terms")
    low, high = saga.policy()["return_window_min_days"], saga.policy()["return_window_max_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        raise InvalidInput("The return window is a whole number of days.",
                           errors={"return_window_days": [f"from {low} to {high} days"]})
    with router.unit_of_work(principal.region) as uow:
        setting = uow.session.get(MerchantOrderSettings, principal.merchant_id)
        if setting is None:
            setting = MerchantOrderSettings(merchant_id=principal.merchant_id, region=principal.region)
            uow.session.add(setting)
        setting.return_window_days = days
        uow.commit()
    return {"return_window_days": days}


def list_for_buyer(*, router: Router, buyer: BuyerPrincipal, after: str | None = None, limit: int = PAGE) -> list[BuyerOrder]:
    """The buyer's orders from every merchant and region, newest first."""
    query = select(BuyerOrder).where(BuyerOrder.buyer_id == buyer.buyer_id)
    if after is not None:
        query = query.where(BuyerOrder.order_id < after)
    with router.unit_of_work(buyer.region, read_only=True) as uow:
        return list(uow.session.scalars(query.order_by(BuyerOrder.order_id.desc()).limit(limit)))


def get_for_buyer(*, router: Router, buyer: BuyerPrincipal, order_id: str) -> BuyerOrder:
    with router.unit_of_work(buyer.region, read_only=True) as uow:
        return _buyers(uow.session, buyer, order_id)


def _buyers(session, buyer: BuyerPrincipal, order_id: str) -> BuyerOrder:
    order = session.get(BuyerOrder, order_id) if is_id(order_id, "ord") else None
    if order is None or order.buyer_id != buyer.buyer_id:
        raise NotFound(f"No order {order_id}.")
    return order


def cancel_for_buyer(*, router: Router, buyer: BuyerPrincipal, order_id: str) -> BuyerOrder:
    """Ask the merchant's region to cancel an order not yet shipped; the summary follows its answer."""
    with router.unit_of_work(buyer.region) as uow:
        order = _buyers(uow.session, buyer, order_id)
        if order.state not in states.table()["cancellable_by_buyer"]:
            raise Conflict(f"Order {order_id} is {order.state.replace('_', ' ')}: it can no longer be cancelled.")
        outbox.publish(uow.session, "orders.cancel", {
            "checkout_id": order.checkout_id, "merchant_id": order.merchant_id, "to_region": order.merchant_region,
            "buyer_region": order.region, "actor": f"buyer:{buyer.buyer_id}", "reason": "Cancelled by the buyer."},
            key=order.checkout_id)
        uow.commit()
        return order


def request_return(*, router: Router, buyer: BuyerPrincipal, order_id: str) -> BuyerOrder:
    """Ask for a return of a delivered order; the merchant's region checks its return window."""
    with router.unit_of_work(buyer.region) as uow:
        order = _buyers(uow.session, buyer, order_id)
        if order.state not in states.table()["returnable"]:
            raise Conflict(f"Order {order_id} is {order.state.replace('_', ' ')}: a return is asked for after delivery.")
        outbox.publish(uow.session, "orders.return.requested", {
            "checkout_id": order.checkout_id, "merchant_id": order.merchant_id, "to_region": order.merchant_region,
            "buyer_region": order.region, "order_id": order.order_id}, key=order.checkout_id)
        uow.commit()
        return order


def confirm_receipt(*, router: Router, buyer: BuyerPrincipal, order_id: str) -> BuyerOrder:
    """The buyer has the goods of a shipped (or delivered) order: the merchant's region makes
    it delivered, by the buyer, and ends escrow (payments.events.receipt_confirmed). Recorded
    once: a second confirmation answers the same and sends nothing."""
    with router.unit_of_work(buyer.region) as uow:
        order = _buyers(uow.session, buyer, order_id)
        if order.receipt_confirmed_at is None:
            if order.state not in states.table()["receivable"]:
                raise Conflict(f"Order {order_id} is {order.state.replace('_', ' ')}: receipt is confirmed once it "
                               f"has shipped.")
            order.receipt_confirmed_at = database_now(uow.session)
            outbox.publish(uow.session, "orders.receipt.confirmed", {
                "checkout_id": order.checkout_id, "merchant_id": order.merchant_id, "order_id": order.order_id,
                "to_region": order.merchant_region, "buyer_region": order.region, "actor": f"buyer:{buyer.buyer_id}"},
                key=order.checkout_id)
        uow.commit()
        return order
