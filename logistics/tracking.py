"""Postal tracking events: received in any region, applied in the region holding the parcel.

    receiving region (any)                          holding region (the S10 range's)
    receive: check each event, record its receipt
    (operator, event id) ── postal.events ─────────▶ apply: timeline row (once per operator and
    (one per holding region and batch)               event id); the shipment's state follows its
                                                     latest event by event time, delivered is final;
                                                     the order's last parcel delivered: order
                                                     delivered + shipments.delivered (payments)
                                  buyer's region ◀── shipments.tracked: the buyer's copy of the timeline

Each event of a batch stands alone: a malformed one is refused with its reasons and the others
go on; a duplicate (same operator and event id, in this batch or any before) is acknowledged
and changes nothing. A number no range holds is parked in the receiving region's receipts; one
a range holds but no shipment has is parked in the holding region's timeline (no shipment).
Neither is dropped, and neither stays parked for good: a shipment takes the events parked under
its number when it is made (take_parked), and `cpu postal reconcile` (logistics.reconciliation)
re-tries the rest. A holding region that is down gets its events from the broker when it is
back, because the receipt and the outbox event commit together before the answer is sent.
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite

from logistics import s10
from logistics.models import BuyerParcel, PostalReceipt, Shipment, TrackingEvent
from marketplace.orders import saga, states
from marketplace.orders.models import MerchantOrder
from marketplace.regions import outbox
from marketplace.regions.base import database_now
from marketplace.regions.router import Router
from payments import service as payments

HOLDER, BUYER = "logistics.tracking", "logistics.buyer_tracking"
MAX_BATCH = 500
CODES_FILE = Path(__file__).with_name("tracking_codes.toml")


@cache
def _codes_data() -> dict:
    return tomllib.loads(CODES_FILE.read_text(encoding="utf-8"))


def codes() -> dict[str, dict]:
    return _codes_data()["codes"]


def exception_states() -> tuple[str, ...]:
    return tuple(sorted({c["state"] for c in codes().values() if c.get("exception")}))


def register_handlers(registry, router: Router) -> None:
    registry.consumer(HOLDER, "postal.events", addressed=True, transactional=True)(apply)
    registry.consumer(BUYER, "shipments.tracked", addressed=True, transactional=True)(record_for_buyer)
    registry.announce("shipments.delivered")  # payments (escrow release, cash on delivery)


# The receiving region -------------------------------------------------------------------------

def checked(raw: object) -> tuple[dict | None, str | None, dict[str, list[str]]]:
    """An event as the operator sent it, made plain, and the region holding its parcel (None:
    no range has the number), or the reasons it cannot be taken. The number is read once here:
    reading it is what tells its region."""
    if not isinstance(raw, dict):
        return None, None, {"": ["an event is a JSON object"]}
    errors: dict[str, list[str]] = {}
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 80:
        errors["event_id"] = ["1 to 80 characters, unique for your operator"]
    holder = None
    try:
        number = s10.normalise(str(raw.get("tracking_number", "")))
        holder = s10.region_of(number)
    except s10.InvalidS10 as exc:
        errors["tracking_number"] = [str(exc)]
    if raw.get("code") not in codes():
        errors["code"] = [f"one of the UPU event codes {', '.join(codes())}"]
    try:
        occurred_at = datetime.fromisoformat(str(raw.get("occurred_at")))
        if occurred_at.tzinfo is None:
            errors["occurred_at"] = ["an ISO 8601 time with its UTC offset"]
    except ValueError:
        errors["occurred_at"] = ["an ISO 8601 time with its UTC offset"]
    office = raw.get("office")
    if not isinstance(office, str) or not 1 <= len(office) <= 20:
        errors["office"] = ["the office code, 1 to 20 characters"]
    detail = raw.get("detail")
    if detail is not None and (not isinstance(detail, str) or len(detail) > 500):
        errors["detail"] = ["text of up to 500 characters, or absent"]
    if errors:
        return None, None, errors
    return {"event_id": event_id, "tracking_number": number, "code": raw["code"], "office": office, "detail": detail,
            "occurred_at": occurred_at.isoformat()}, holder, {}


def receive(*, router: Router, region: str, operator: str, events: list) -> list[dict]:
    """Record and acknowledge an operator's batch here; each event's result, in the batch's order."""
    results, fresh = [], {}  # event id -> (the event, its holding region), the first of each id
    for n, raw in enumerate(events):
        event, holder, errors = checked(raw)
        if event is None:
            results.append({"index": n, "event_id": raw.get("event_id") if isinstance(raw, dict) else None,
                            "status": "rejected", "errors": errors})
            continue
        duplicate = event["event_id"] in fresh
        fresh.setdefault(event["event_id"], (event, holder))
        results.append({"index": n, "event_id": event["event_id"], "status": "duplicate" if duplicate else None})
    with router.unit_of_work(region) as uow:
        taken = _record_receipts(uow.session, region, operator, fresh)
        by_region = defaultdict(list)
        for event_id, (event, holder) in fresh.items():
            if holder is not None and event_id in taken:
                by_region[holder].append(event)
        for holder, routed in by_region.items():
            outbox.publish(uow.session, "postal.events", {"to_region": holder, "operator": operator, "events": routed},
                           key=f"{operator}:{routed[0]['event_id']}")
        uow.commit()
    for result in results:
        if result["status"] is None:
            event_id = result["event_id"]
            result["status"] = ("duplicate" if event_id not in taken else
                                "accepted" if fresh[event_id][1] is not None else "parked")
    return results


def _record_receipts(session, region: str, operator: str, events: dict[str, tuple[dict, str | None]]) -> set[str]:
    """Insert the receipts not seen before (a concurrent duplicate waits, then is skipped) of
    `events` (event id -> the event and its holding region, None: parked); the event ids
    recorded now.

    One statement for the batch, its rows in event id order so that two batches sharing event
    ids wait for each other instead of deadlocking. On PostgreSQL the rows travel as arrays
    (unnest): the statement text never changes with the batch size, so it is parsed and
    prepared once per connection, and the receipt time is the server's clock in the same
    statement, not one more round trip."""
    if not events:
        return set()
    ordered = sorted(events.items())
    if session.get_bind().dialect.name == "postgresql":
        return set(session.scalars(_INSERT_RECEIPTS_PG, {
            "operator": operator, "region": region, "event_ids": [event_id for event_id, _ in ordered],
            "numbers": [event["tracking_number"] for _, (event, _) in ordered],
            "routes": [holder for _, (_, holder) in ordered],
            # a routed event lives on in the outbox; a parked one is kept here, for reconciliation
            "events": [None if holder else json.dumps(event) for _, (event, holder) in ordered]}))
    now = database_now(session)
    rows = [{"operator": operator, "event_id": event_id, "region": region, "tracking_number": event["tracking_number"],
             "routed_to": holder, "event": None if holder else event, "received_at": now}
            for event_id, (event, holder) in ordered]
    return set(session.scalars(sqlite.insert(PostalReceipt.__table__).on_conflict_do_nothing()
                               .returning(PostalReceipt.event_id), rows))


_INSERT_RECEIPTS_PG = text("""
    INSERT INTO postal_receipts (operator, event_id, region, tracking_number, routed_to, event, received_at)
    SELECT :operator, r.event_id, :region, r.tracking_number, r.routed_to, CAST(r.event AS json), statement_timestamp()
    FROM unnest(CAST(:event_ids AS text[]), CAST(:numbers AS text[]), CAST(:routes AS text[]),
                CAST(:events AS text[])) AS r(event_id, tracking_number, routed_to, event)
    ON CONFLICT DO NOTHING
    RETURNING event_id""")


def parked_receipts(*, router: Router, region: str) -> list[PostalReceipt]:
    """Events no range holds, kept for reconciliation."""
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(select(PostalReceipt).where(PostalReceipt.routed_to.is_(None))
                                        .order_by(PostalReceipt.received_at)))


# The holding region ---------------------------------------------------------------------------

def apply(envelope, session) -> None:
    """An operator's events for parcels held here: timeline, state, and what delivery means.

    A batch costs a fixed number of statements, not some per event: the known event ids, the
    shipments and their orders are each read once (the orders land in the session, so the
    per-parcel look-ups below find them there), and the new timeline rows go in as one insert."""
    p = envelope.payload
    operator, events = p["operator"], p["events"]
    known = set(session.scalars(select(TrackingEvent.event_id).where(
        TrackingEvent.operator == operator, TrackingEvent.event_id.in_([e["event_id"] for e in events]))))
    numbers = {e["tracking_number"] for e in events}
    # locked (in one order, so two batches never wait on each other): a hand-over committing
    # meanwhile is seen, and neither overwrites the other's state
    shipments = {s.tracking_number: s for s in session.scalars(locked(session, select(Shipment).where(
        Shipment.tracking_number.in_(numbers)).order_by(Shipment.id)))}
    # Held here: the session's identity map keeps objects only while someone refers to them.
    orders = {o.id: o for o in session.scalars(select(MerchantOrder).where(
        MerchantOrder.id.in_({s.order_id for s in shipments.values()})))} if shipments else {}
    region, rows, touched = session.info["database"], [], {}
    for event in events:
        if event["event_id"] in known:
            continue
        known.add(event["event_id"])
        shipment = shipments.get(event["tracking_number"])
        row = {"region": region, "operator": operator, "event_id": event["event_id"],
               "tracking_number": event["tracking_number"], "shipment_id": shipment.id if shipment else None,
               "code": event["code"], "occurred_at": datetime.fromisoformat(event["occurred_at"]),
               "office": event["office"], "detail": event["detail"], "changed_state": False}
        if shipment is not None:
            row["changed_state"] = _advance(shipment, _Reported(row["code"], row["occurred_at"]),
                                            reported_by_an_end=_an_end_of(session, operator, shipment))
            touched[shipment.id] = shipment
        rows.append(row)
    if rows:
        session.execute(insert(TrackingEvent.__table__), rows)
    for shipment in touched.values():
        deliver_when_done(session, shipment, orders[shipment.order_id])
    if touched:
        _tell_buyers(session, list(touched.values()), orders, causation_id=envelope.event_id)


def take_parked(session, shipment: Shipment) -> int:
    """Apply to a shipment the events parked under its number before it was recorded here, as
    `apply` would have had it existed: the same order-tolerant rules, its buyer told, and a
    delivery told to payments through the outbox. How many it took.

    Each parked row is taken once: a taken one has its shipment, and a concurrent taker waits
    for the row lock (PostgreSQL) and then finds it taken. An event the operator sends again
    is a duplicate by its (operator, event id), here or in the receipts, so never taken twice."""
    parked = list(session.scalars(locked(session, select(TrackingEvent).where(
        TrackingEvent.tracking_number == shipment.tracking_number, TrackingEvent.shipment_id.is_(None))
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id))))
    if not parked:
        return 0
    order = session.get(MerchantOrder, shipment.order_id)
    for event in parked:
        event.shipment_id = shipment.id
        # Numbers are ours to issue: an event from before the parcel was made is of another
        # parcel (a range's old serials, a mis-keyed scan) or forged, so it joins the timeline
        # but moves nothing, and above all delivers nothing that releases the merchant's money.
        event.changed_state = event.occurred_at >= shipment.created_at and _advance(
            shipment, event, reported_by_an_end=_an_end_of(session, event.operator, shipment))
    deliver_when_done(session, shipment, order)
    _tell_buyers(session, [shipment], {order.id: order})
    return len(parked)


def locked(session, query):
    """`query` locking the rows it reads until commit (PostgreSQL; SQLite has one writer)."""
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def _tell_buyers(session, shipments: list[Shipment], orders: dict[str, MerchantOrder], *,
                 causation_id: str | None = None) -> None:
    """The parcels' timelines to their buyers' regions: one event per region, however many parcels."""
    told = defaultdict(list)
    timelines = _timelines(session, [shipment.tracking_number for shipment in shipments])
    for shipment in shipments:
        order = orders[shipment.order_id]
        told[order.buyer_region].append(_buyers_copy(shipment, order, timelines[shipment.tracking_number]))
    for buyer_region, parcels in told.items():
        outbox.publish(session, "shipments.tracked", {"to_region": buyer_region, "parcels": parcels},
                       key=f"parcels:{buyer_region}", causation_id=causation_id)


class _Reported(NamedTuple):
    """What `_advance` reads of an event: a timeline row is inserted without an ORM object."""

    code: str
    occurred_at: datetime


def _an_end_of(session, operator: str, shipment: Shipment) -> bool:
    """Whether `operator` posts at one end of the parcel: the origin's, whose S10 range it is,
    or the destination's, which delivers it (an operator in between may report transit)."""
    order = session.get(MerchantOrder, shipment.order_id)
    ends = {shipment.tracking_number[-2:], str((order.ship_to if order else {}).get("country", "")).upper()}
    return operator.upper() in ends


def _advance(shipment: Shipment, event: TrackingEvent, *, reported_by_an_end: bool) -> bool:
    """The shipment takes the event's state if the event is its latest by event time and the
    shipment is not delivered already: arrival order never moves it backwards. A final state
    (delivered: it releases the merchant's money) only from an operator at one of its ends;
    from any other it stays in the timeline, as a late event does."""
    final = _codes_data()["states"]["final"]
    if shipment.state in final or (codes()[event.code]["state"] in final and not reported_by_an_end):
        return False
    if shipment.last_event_at is not None and event.occurred_at < shipment.last_event_at:
        return False
    shipment.state, shipment.last_event_at = codes()[event.code]["state"], event.occurred_at
    if shipment.state == "delivered":
        shipment.delivered_at = event.occurred_at
    return True


# An order whose delivery event still counts: shipped, or moved on since by its buyer's receipt or
# its merchant (completed, partly refunded) while a cash-on-delivery amount may still be due.
AFTER_HAND_OVER = ("shipped", "delivered", "completed", "refunded_partially")


def deliver_when_done(session, shipment: Shipment, order: MerchantOrder) -> None:
    """The order's last outbound parcel delivered: the order is delivered, payments told. Called
    when an event moves a parcel, and when a parcel the post reported delivered is handed over.

    For cash on delivery the delivering postman has collected the cash, so the event says so:
    `cash_collected` is what the buyer owes for the order (payments.service.cash_due: the
    order's total in its currency, less what was refunded before delivery). The webhook
    carries no amount of its own: the operator collects what is due and its remittance settles
    any difference (payments books a shortfall as held, never more than owed). An order its
    buyer already confirmed received is told too: its cash is only in once the post says so."""
    if not (shipment.kind == "outbound" and shipment.state == "delivered" and order.state in AFTER_HAND_OVER
            and shipment.delivered_at >= shipment.created_at and _all_delivered(session, order)):
        return
    moved = order.state == "shipped" and states.move(session, order, "delivered", actor="postal")
    cash = payments.cash_due(session, order)
    if not (moved or cash):  # delivered before, and nothing left to collect: payments knows
        return
    outbox.publish(session, "shipments.delivered", {
        "merchant_order_id": order.id, "merchant_id": order.merchant_id, "checkout_id": order.checkout_id,
        "shipment_id": shipment.id, "tracking_number": shipment.tracking_number,
        "delivered_at": shipment.delivered_at.isoformat(), "cash_collected": cash, "to_region": order.region,
    }, key=order.id)
    if moved:
        saga.tell_buyer(session, order)


def _buyers_copy(shipment: Shipment, order: MerchantOrder, timeline: list) -> dict:
    events = [{"code": e.code, "meaning": codes()[e.code]["meaning"], "at": e.occurred_at.isoformat(), "office": e.office,
               "detail": e.detail} for e in timeline]
    return {"order_id": order.id, "tracking_number": shipment.tracking_number, "kind": shipment.kind,
            "state": shipment.state, "timeline": events}


def _all_delivered(session, order: MerchantOrder) -> bool:
    parcels = session.scalars(select(Shipment.state).where(Shipment.order_id == order.id, Shipment.kind == "outbound"))
    return all(state == "delivered" for state in parcels)


def _timelines(session, numbers: list[str]) -> dict[str, list]:
    """Several parcels' timelines in one query (rows, not ORM objects): number -> its events
    by event time, as `_timeline` orders them."""
    found = defaultdict(list)
    for event in session.execute(select(TrackingEvent.tracking_number, TrackingEvent.code, TrackingEvent.occurred_at,
                                        TrackingEvent.office, TrackingEvent.detail)
                                 .where(TrackingEvent.tracking_number.in_(numbers))
                                 .order_by(TrackingEvent.occurred_at, TrackingEvent.id)):
        found[event.tracking_number].append(event)
    return found


def _timeline(session, number: str) -> list[TrackingEvent]:
    session.flush()
    return list(session.scalars(select(TrackingEvent).where(TrackingEvent.tracking_number == number)
                                .order_by(TrackingEvent.occurred_at, TrackingEvent.id)))


# The buyer's region ---------------------------------------------------------------------------

def record_for_buyer(envelope, session) -> None:
    """The buyer's copies of parcels' timelines. A timeline only grows (events are never
    removed), so a copy longer than the one arriving is newer and is kept."""
    now, parcels = database_now(session), envelope.payload["parcels"]
    held = {parcel.tracking_number: parcel for parcel in session.scalars(
        select(BuyerParcel).where(BuyerParcel.tracking_number.in_([p["tracking_number"] for p in parcels])))}
    for p in parcels:
        parcel = held.get(p["tracking_number"])
        if parcel is None:
            parcel = BuyerParcel(tracking_number=p["tracking_number"], region=session.info["database"],
                                 buyer_order_id=p["order_id"], kind=p["kind"], timeline=[])
            session.add(parcel)
            held[parcel.tracking_number] = parcel
        if len(p["timeline"]) >= len(parcel.timeline):
            parcel.state, parcel.timeline, parcel.updated_at = p["state"], p["timeline"], now


def for_buyer(*, router: Router, buyer, order_id: str) -> list[BuyerParcel]:
    """The parcels of one of the buyer's orders, each with its timeline."""
    from marketplace.orders import service as orders

    order = orders.get_for_buyer(router=router, buyer=buyer, order_id=order_id)  # NotFound unless it is theirs
    with router.unit_of_work(buyer.region, read_only=True) as uow:
        return list(uow.session.scalars(select(BuyerParcel).where(BuyerParcel.buyer_order_id == order.order_id)
                                        .order_by(BuyerParcel.tracking_number)))


def public_timeline(*, router: Router, tracking_number: str) -> tuple[str, list[TrackingEvent]] | None:
    """A parcel's state and events for the storefront's tracking page: no names or addresses.
    None for a number we do not hold."""
    try:
        region = s10.region_of(tracking_number)
    except s10.InvalidS10:
        return None
    if region is None or region not in router.served_regions:
        return None
    number = s10.normalise(tracking_number)
    with router.unit_of_work(region, read_only=True) as uow:
        state = uow.session.scalar(select(Shipment.state).where(Shipment.tracking_number == number))
        return None if state is None else (state, _timeline(uow.session, number))
