"""The signed-in merchant's orders: a filtered list, a page at a time, and an order's page with
its lines, where it goes, its totals, its history, and the moves the state machine allows the
merchant. Owners and staff alike: whoever packs the orders moves them (as in the merchant API).
The page also lists the order's parcels and the forms to make and hand them over (parcels.py).
Refunds are payments' job and are not offered here."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, ValidationError

from logistics import rates, shipments
from logistics.schemas import NewShipmentSchema
from marketplace.errors import Conflict, PermissionDenied
from marketplace.orders import service, states
from marketplace.orders.schemas import MerchantOrderArgs
from marketplace.platform import router
from marketplace.storefront import access

blp = Blueprint("orders", __name__, url_prefix="/dashboard/orders")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)
PAGE_SIZE = 50
REFUNDS = ("refunded_partially", "refunded_fully")  # payments make refunds, with the money
FILTERS = ("state", "placed_from", "placed_to", "search")


@blp.get("/")
def index():
    """Your orders, newest first, filtered by state, the days placed, an order id or a SKU."""
    asked = {name: value.strip() for name, value in request.args.items() if name in (*FILTERS, "after") and value.strip()}
    try:
        args = MerchantOrderArgs(unknown=EXCLUDE).load({**asked, "limit": PAGE_SIZE})
    except ValidationError as exc:
        return _list([], asked, {name: list(messages) for name, messages in exc.normalized_messages().items()}, None), 422
    orders = service.list_for_merchant(router=router(), principal=access.principal(), **args)
    following = orders[-1].id if len(orders) == PAGE_SIZE else None
    return _list(orders, asked, {}, following)


def _list(orders, values: dict, errors: dict, following: str | None):
    filters = {name: values[name] for name in FILTERS if name in values}
    return render_template("dashboard/orders.html", orders=orders, values=values, errors=errors, filters=filters,
                           next_url=url_for(".index", **filters, after=following) if following else None,
                           first_url=url_for(".index", **filters) if "after" in values else None,
                           state_options=[(s, s.replace("_", " ")) for s in states.states()])


@blp.get("/<order_id>")
def show(order_id: str):
    """One order: lines, shipping address, totals, state, its transitions, and what you may do next."""
    return order_page(service.get_for_merchant(router=router(), principal=access.principal(), order_id=order_id))


@blp.post("/<order_id>/state")
def move(order_id: str):
    """Move the order on (in fulfilment, shipped, cancelled, ...), as the state machine allows."""
    wanted = request.form.get("state", "")
    if wanted not in states.states() or wanted in REFUNDS:
        return _refused(order_id, "Choose one of the moves offered on this page.", 422)
    try:
        order = service.move(router=router(), principal=access.principal(), order_id=order_id, to_state=wanted)
    except (Conflict, PermissionDenied) as exc:
        return _refused(order_id, exc.detail, exc.status)
    flash(f"Order {order.id} is {order.state.replace('_', ' ')}.")
    return redirect(url_for(".show", order_id=order.id), 303)


def _refused(order_id: str, message: str, status: int):
    order = service.get_for_merchant(router=router(), principal=access.principal(), order_id=order_id)
    return order_page(order, error=message), status


def order_page(order, *, error: str | None = None, parcel_values: dict | None = None, parcel_errors: dict | None = None):
    """The order's page; after a refused parcel, with what was typed and why it was refused."""
    moves = [to for to in states.moves_for(order.state, "merchant") if to not in REFUNDS]
    parcels = shipments.list_for_order(router=router(), principal=access.principal(), order_id=order.id)
    return render_template("dashboard/order.html", order=order, moves=moves, error=error,
                           refundable=any(to in REFUNDS for to in states.moves_for(order.state, "merchant")),
                           parcels=parcels, crosses_border=shipments.crosses_border, can_make_parcels=order.state in shipments.SHIPPABLE,
                           can_hand_over=order.state == "shipped" or "shipped" in states.moves_for(order.state, "handover"),
                           services=[(code, f"{s.name}, up to {s.max_weight_g:,} g") for code, s in rates.services().items()],
                           parcel_values=_parcel_values(parcel_values or {}), parcel_errors=parcel_errors or {})


def _parcel_values(typed: dict) -> dict:
    """The "Create a parcel" form's values: the API's default service, what was typed, and the
    idempotency key, kept when the form is redrawn after a refusal and new otherwise."""
    return {"service": NewShipmentSchema().fields["service"].load_default, **typed,
            "idempotency_key": typed.get("idempotency_key") or uuid.uuid4().hex}
