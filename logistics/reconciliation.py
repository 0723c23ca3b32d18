"""Reconciling parked postal events: the ones no parcel could take when they came.

An event is parked, never dropped (logistics.tracking): in the receiving region when no S10
range held its number, in the holding region when no shipment had it yet. A shipment takes
the events parked under its number as it is made (tracking.take_parked). What is left is
re-tried here (`cpu postal reconcile`), one region at a time, a page per transaction:

- receipts parked in this region whose number a range holds now (a range added since) are
  sent to that region as live events are: one postal.events outbox event per operator and
  holding region, committed with the receipts marked routed, so the holding region gets them
  through the broker (never by writing its database) and a crash resends all of a page or none;
- timeline events parked in this region whose number a shipment now has are taken by it: a
  shipment made while its event was being applied missed it (neither saw the other's rows).

Running it twice is harmless: a routed receipt is parked no more, a taken event has its
shipment, and the holding region applies an operator's event id once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import select, tuple_

from logistics import s10, tracking
from logistics.models import PostalReceipt, Shipment, TrackingEvent
from marketplace.regions import outbox
from marketplace.regions.router import Router

PAGE = 200  # receipts or parcels a transaction takes; within tracking.MAX_BATCH events per outbox event


class Routed(NamedTuple):
    checked: int
    sent: Counter  # holding region -> events sent there


class Taken(NamedTuple):
    parcels: int
    events: int


def route_receipts(*, router: Router, region: str, page: int = PAGE) -> Iterator[Routed]:
    """The receipts parked in `region`, a page at a time: those whose number a range now holds
    are sent to its region; what each committed page checked and sent."""
    after = ("", "")
    while True:
        with router.unit_of_work(region) as uow:
            receipts = list(uow.session.scalars(tracking.locked(uow.session, select(PostalReceipt).where(
                PostalReceipt.routed_to.is_(None), tuple_(PostalReceipt.operator, PostalReceipt.event_id) > after)
                .order_by(PostalReceipt.operator, PostalReceipt.event_id).limit(page))))
            if not receipts:
                return
            after = (receipts[-1].operator, receipts[-1].event_id)
            routes = defaultdict(list)  # (operator, holding region) -> events
            for receipt in receipts:
                holder = _holder(receipt.tracking_number)
                if holder is not None:
                    routes[(receipt.operator, holder)].append(receipt.event)
                    receipt.routed_to, receipt.event = holder, None  # the event lives on in the outbox
            for (operator, holder), events in routes.items():
                outbox.publish(uow.session, "postal.events", {"to_region": holder, "operator": operator, "events": events},
                               key=f"{operator}:{events[0]['event_id']}")
            uow.commit()
        yield Routed(len(receipts), Counter({holder: len(events) for (_, holder), events in routes.items()}))


def _holder(number: str) -> str | None:
    """The region a range gives the number now; None while none does (or its operator left)."""
    try:
        return s10.region_of(number)
    except s10.InvalidS10:
        return None


def take_parked_events(*, router: Router, region: str, page: int = PAGE) -> Iterator[Taken]:
    """The shipments of `region` with parked timeline events under their number, a page at a
    time, each taking its events (tracking.take_parked; the rows locked, so a second
    reconciler waits and then finds them taken); what each committed page took."""
    after = ""
    while True:
        with router.unit_of_work(region) as uow:
            ids = list(uow.session.scalars(
                select(Shipment.id).join(TrackingEvent, TrackingEvent.tracking_number == Shipment.tracking_number)
                .where(TrackingEvent.shipment_id.is_(None), Shipment.id > after)
                .group_by(Shipment.id).order_by(Shipment.id).limit(page)))
            if not ids:
                return
            after = ids[-1]
            shipments = uow.session.scalars(tracking.locked(uow.session, select(Shipment).where(Shipment.id.in_(ids))
                                                            .order_by(Shipment.id))).all()
            events = sum(tracking.take_parked(uow.session, shipment) for shipment in shipments)
            uow.commit()
        yield Taken(len(ids), events)
