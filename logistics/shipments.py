"""Shipments as merchants make them: parcels of an order, their labels, the hand-over to the
post, their customs forms and advance data, and return shipments.

Everything happens on the merchant's shard (tenant: the principal's merchant; role: any
staff or API key, like moving an order). A parcel gets its tracking number from the range
its region issues for the merchant's country (logistics.s10), so the number alone routes the
operator's events back here, and events the post sent for it before it was recorded here are
its first events. Its postage is the chosen service's for its billable weight: with its sides
given, the volumetric weight where the service bills by volume (rates.postage), so a large
light parcel is not charged as a small one. Creating the first parcel of a paid order puts
the order in fulfilment; handing one over to the post makes it shipped; the buyer's summary
follows both.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from logistics import customs, labels, rates, s10, tracking
from logistics.models import Shipment, TrackingEvent
from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.orders import saga, states
from marketplace.orders.models import MerchantOrder
from marketplace.regions import idempotency
from marketplace.regions.base import database_now
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.router import Router
from payments.service import cash_due

SHIPPABLE = ("paid", "in_fulfilment")
SIDES = ("length_mm", "width_mm", "height_mm")


def create(*, router: Router, principal: Principal, order_id: str, service: str, weight_g: int,
           length_mm: int | None = None, width_mm: int | None = None, height_mm: int | None = None,
           idempotency_key: str | None = None) -> Shipment:
    """A parcel of one of your paid orders, with a new tracking number and its postage; the order goes in fulfilment."""
    measures = {"weight_g": weight_g, "length_mm": length_mm, "width_mm": width_mm, "height_mm": height_mm}
    return _create_once(router, principal, "shipment", order_id, service, measures, idempotency_key, _outbound)


def authorise_return(*, router: Router, principal: Principal, order_id: str, weight_g: int,
                     idempotency_key: str | None = None) -> Shipment:
    """A return authorisation for a delivered order: a return parcel with its own tracking number and label."""
    return _create_once(router, principal, "return", order_id, "return", {"weight_g": weight_g}, idempotency_key,
                        _return)


def _create_once(router, principal, operation, order_id, service, measures, key, make) -> Shipment:
    scope = idempotency.merchant_scope(operation, principal.merchant_id)
    key = idempotency.checked_key(key)
    # the sides only when given: a key sent before parcels had sides still matches its retry
    given = {name: value for name, value in measures.items() if value is not None}
    request = idempotency.fingerprint({"order_id": order_id, "service": service, **given})
    first = idempotency.replayed(router, principal.region, scope=scope, key=key, request_fingerprint=request,
                                 fetch=lambda session, shipment_id: session.get(Shipment, shipment_id))
    if first is not None:
        return first
    with router.unit_of_work(principal.region) as uow:
        order = _order(uow.session, principal, order_id)
        shipment = make(uow.session, principal, order, service, given)
        if key is not None:
            idempotency.remember(uow.session, scope=scope, key=key, request_fingerprint=request, resource_id=shipment.id)
        uow.commit()
        return shipment


def _outbound(session, principal, order, service, measures) -> Shipment:
    if order.state not in SHIPPABLE:
        raise Conflict(f"Order {order.id} is {order.state.replace('_', ' ')}: parcels are made for paid orders "
                       f"before they ship.")
    if 0 < len(set(SIDES) & set(measures)) < len(SIDES):
        raise InvalidInput("Give all three sides of the parcel, or none.",
                           errors={side: ["give length_mm, width_mm and height_mm together"]
                                   for side in SIDES if side not in measures})
    merchant = session.get(Merchant, order.merchant_id)
    quote = rates.postage(service=service, origin=merchant.home_country, destination=order.ship_to.get("country"),
                          parcel=rates.Item(1, **measures))
    shipment = _new(session, order, merchant, kind="outbound", service=service, **measures,
                    billable_weight_g=quote.billable_weight_g, postage_amount=quote.postage, postage_currency="USD",
                    sender=_merchant_address(merchant), addressee=order.ship_to)
    if states.move(session, order, "in_fulfilment", actor=_actor(principal)):
        saga.tell_buyer(session, order)
    return shipment


def _return(session, principal, order, service, measures) -> Shipment:
    if order.state not in states.table()["returnable"]:
        raise Conflict(f"Order {order.id} is {order.state.replace('_', ' ')}: only a delivered order can be returned.")
    merchant = session.get(Merchant, order.merchant_id)
    return _new(session, order, merchant, kind="return", service=service, **measures,
                sender=order.ship_to, addressee=_merchant_address(merchant))


def _new(session, order, merchant, **fields) -> Shipment:
    """The parcel with its new number; events the post sent for the number before it was
    recorded here (parked, logistics.tracking) are its first events."""
    number = s10.issue(session, country=merchant.home_country, service=fields["service"])
    shipment = Shipment(id=new_id("shp"), region=order.region, merchant_id=order.merchant_id, order_id=order.id,
                        tracking_number=number, state="created", created_at=database_now(session), **fields)
    session.add(shipment)
    session.flush()
    tracking.take_parked(session, shipment)
    return shipment


def _merchant_address(merchant: Merchant) -> dict:
    return {"recipient": merchant.legal_name or merchant.name, "country": merchant.home_country}


def hand_over(*, router: Router, principal: Principal, shipment_id: str) -> Shipment:
    """The parcel is with the post: its order is shipped (the first hand-over moves it). The
    only way an order ships (states.toml: actor "handover", recorded with who handed it over).
    The post often scans a parcel before its hand-over is recorded: it keeps the state its
    events gave it, and one they already report delivered delivers its order now."""
    with router.unit_of_work(principal.region) as uow:
        # locked before its order, as tracking.apply locks it: an event applied meanwhile is seen
        shipment = _shipment(uow.session, principal, shipment_id, lock=True)
        if shipment.handed_over_at is None:
            shipment.handed_over_at = database_now(uow.session)
            if shipment.state == "created":
                shipment.state = "handed_over"
            # locked: a cancellation committing meanwhile is seen, never overwritten by "shipped"
            order = uow.session.scalars(saga.lock_order(uow.session, select(MerchantOrder).where(
                MerchantOrder.id == shipment.order_id))).one()
            if shipment.kind == "outbound" and states.move(uow.session, order, "shipped",
                                                          actor=f"handover:{_actor(principal)}"):
                saga.tell_buyer(uow.session, order)
                tracking.deliver_when_done(uow.session, shipment, order)
        uow.commit()
        return shipment


def list_for_order(*, router: Router, principal: Principal, order_id: str) -> list[Shipment]:
    """The parcels of one of your orders, outbound and returns."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        order = _order(uow.session, principal, order_id)
        return list(uow.session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)))


def get(*, router: Router, principal: Principal, shipment_id: str) -> tuple[Shipment, list[TrackingEvent]]:
    """One of your parcels and its tracking timeline (by event time)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        shipment = _shipment(uow.session, principal, shipment_id)
        return shipment, timeline(uow.session, shipment.tracking_number)


def label(*, router: Router, principal: Principal, shipment_id: str) -> tuple[Shipment, bytes]:
    """One of your parcels and its label as PDF; a cash-on-delivery parcel's says what the postman collects
    (what the buyer still owes now, so a refund made before printing is already off it)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        shipment = _shipment(uow.session, principal, shipment_id)
        cash = cash_due(uow.session, uow.session.get(MerchantOrder, shipment.order_id)) if shipment.kind == "outbound" else None
        return shipment, labels.pdf(shipment, cash_on_delivery=cash)


def crosses_border(shipment: Shipment) -> bool:
    """A parcel between two countries goes through customs and needs a CN22 or CN23; one within
    a country does not."""
    return shipment.sender.get("country") != shipment.addressee.get("country")


def customs_form(*, router: Router, principal: Principal, shipment_id: str, category: str | None = None) -> bytes:
    """One of your parcels' CN22 or CN23 (customs.py decides which by the 300 SDR rule) as PDF."""
    shipment, declaration = _declared(router, principal, shipment_id, category)
    return customs.cn_form_pdf(declaration, item_id=shipment.tracking_number)


def advance_data(*, router: Router, principal: Principal, shipment_id: str, category: str | None = None) -> dict:
    """One of your parcels' electronic advance data (ITMATT-like JSON) for the destination's customs."""
    shipment, declaration = _declared(router, principal, shipment_id, category)
    return customs.itmatt(declaration, item_id=shipment.tracking_number, posted_at=shipment.handed_over_at)


def _declared(router, principal, shipment_id, category) -> tuple[Shipment, customs.Declaration]:
    """The parcel and its declaration, filled from its order's lines. The category of item is
    the one asked for, else the kind's default (customs.toml: goods sold go out, goods come back).
    A return's sender is the buyer: the form names the parcel's own addresses, as its label does."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        shipment = _shipment(uow.session, principal, shipment_id)
        if not crosses_border(shipment):
            raise Conflict(f"Parcel {shipment.tracking_number} stays in {shipment.addressee.get('country')}: it crosses "
                           f"no border, so it needs no customs form.")
        order = uow.session.get(MerchantOrder, shipment.order_id)
        declaration = customs.customs_declaration(
            uow.session, order, category=category or customs.settings()["default_category"][shipment.kind])
    if shipment.kind == "return":
        declaration = replace(declaration, addressee=dict(shipment.addressee),
                              sender={"name": shipment.sender.get("recipient"), "country": shipment.sender.get("country")})
    return shipment, declaration


def timeline(session, tracking_number: str) -> list[TrackingEvent]:
    return list(session.scalars(select(TrackingEvent).where(TrackingEvent.tracking_number == tracking_number)
                                .order_by(TrackingEvent.occurred_at, TrackingEvent.id)))


def exceptions(*, router: Router, principal: Principal, limit: int = 50) -> list[Shipment]:
    """Your parcels that need attention: held by customs, a delivery attempt failed, or coming back."""
    query = select(Shipment).where(Shipment.merchant_id == principal.merchant_id,
                                   (Shipment.state.in_(tracking.exception_states())) |
                                   ((Shipment.kind == "return") & (Shipment.state != "delivered")))
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(query.order_by(Shipment.id.desc()).limit(limit)))


def _order(session, principal: Principal, order_id: str) -> MerchantOrder:
    order = session.get(MerchantOrder, order_id) if is_id(order_id, "ord") else None
    if order is None or order.merchant_id != principal.merchant_id:
        raise NotFound(f"No order {order_id}.")
    return order


def _shipment(session, principal: Principal, shipment_id: str, *, lock: bool = False) -> Shipment:
    shipment = session.get(Shipment, shipment_id, with_for_update=lock or None) if is_id(shipment_id, "shp") else None
    if shipment is None or shipment.merchant_id != principal.merchant_id:
        raise NotFound(f"No shipment {shipment_id}.")
    return shipment


def _actor(principal: Principal) -> str:
    return f"merchant:{principal.staff_id or principal.api_key_id}"
