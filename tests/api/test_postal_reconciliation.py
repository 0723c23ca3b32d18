"""Parked postal events are matched again: a parcel takes the events the post sent for its
number before it was recorded (a delivery scanned first releases escrow once the parcel is
handed over), and `cpu postal reconcile` re-tries the rest, through the outbox as live
events go, each event applied once however often it runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from logistics import s10, tracking
from logistics.models import TrackingEvent
from marketplace.regions.models import OutboxEvent
from tests.api.test_orders_lifecycle import paid_order
from tests.api.test_postal_webhooks import shipment, statuses
from tests.api.test_shipments import new_parcel
from tests.support.postal import event, post_events
from tests.support.shop import settle

FIRST_JAMAICAN_PARCEL = "CP100000003JM"  # the number the first parcel of a Kingston shop gets


def minutes_from_now(minutes: int) -> str:
    """When a scan of a parcel made now happens: numbers are ours to issue, so the post's events
    for a parcel come after it was made, even those that reach us before it is recorded."""
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def balance(client, shop) -> dict:
    [held] = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()["balances"]
    return held


def delivered_events(router, region="kin") -> list[OutboxEvent]:
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "shipments.delivered")))


def hand_over(client, shop, parcel):
    handed = client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=shop.auth, json={})
    assert handed.status_code == 200, handed.get_json()
    return handed.get_json()


def reconcile(app, *regions: str) -> list[str]:
    ran = app.test_cli_runner().invoke(args=["cpu", "postal", "reconcile", *(f"--region={r}" for r in regions)])
    assert ran.exit_code == 0, ran.output
    return ran.output.splitlines()


def test_a_delivery_reported_before_its_parcel_was_recorded_delivers_it_and_releases_the_payable(client, router,
                                                                                                 platform):
    shop, auth, order_id = paid_order(client, router, platform)
    accepted_at, delivered_at = minutes_from_now(1), minutes_from_now(2)
    early = post_events(client, platform, [event(FIRST_JAMAICAN_PARCEL, "EMA", accepted_at),
                                           event(FIRST_JAMAICAN_PARCEL, "EMI", delivered_at)])
    assert early.status_code == 202 and statuses(early) == ["accepted", "accepted"]
    settle(platform)
    held = balance(client, shop)
    assert held["held"] > 0 and held["available"] == 0

    parcel = new_parcel(client, shop, order_id).get_json()
    assert parcel["tracking_number"] == FIRST_JAMAICAN_PARCEL and parcel["state"] == "delivered"
    assert [(e["code"], e["changed_state"]) for e in shipment(client, shop, parcel)["timeline"]] == [
        ("EMA", True), ("EMI", True)]
    settle(platform)
    assert balance(client, shop) == held  # not handed over yet: the order has not shipped

    assert hand_over(client, shop, parcel)["state"] == "delivered"  # the post's word stands
    settle(platform)
    order = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert order["state"] == "delivered" and order["transitions"][-1]["actor"] == "postal"
    [told] = delivered_events(router)
    assert told.payload["tracking_number"] == FIRST_JAMAICAN_PARCEL
    assert told.payload["delivered_at"] == delivered_at
    assert balance(client, shop) == {**held, "held": 0, "available": held["held"]}
    [tracked] = client.get(f"/api/v1/orders/{order_id}/parcels", headers=auth).get_json()
    assert tracked["state"] == "delivered" and [e["code"] for e in tracked["timeline"]] == ["EMA", "EMI"]


def test_a_delivery_dated_before_its_parcel_was_made_moves_nothing_and_releases_nothing(client, router, platform):
    """A scan from before we issued the number is of another parcel (a range's old serials, a
    mis-keyed number) or forged: it joins the timeline, and the merchant's money stays held."""
    shop, _, order_id = paid_order(client, router, platform)
    stale = (datetime.now(timezone.utc) - timedelta(days=3)).replace(microsecond=0).isoformat()
    post_events(client, platform, [event(FIRST_JAMAICAN_PARCEL, "EMI", stale)])
    settle(platform)
    held = balance(client, shop)

    parcel = new_parcel(client, shop, order_id).get_json()
    assert parcel["state"] == "created"
    assert hand_over(client, shop, parcel)["state"] == "handed_over"
    settle(platform)
    assert [(e["code"], e["changed_state"]) for e in shipment(client, shop, parcel)["timeline"]] == [("EMI", False)]
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "shipped"
    assert delivered_events(router) == [] and balance(client, shop) == held


def test_a_parked_event_a_parcel_missed_is_applied_once_however_often_it_is_reconciled(app, client, router, platform,
                                                                                       monkeypatch):
    shop, _, order_id = paid_order(client, router, platform)
    delivered_at = minutes_from_now(2)
    post_events(client, platform, [event(FIRST_JAMAICAN_PARCEL, "EMI", delivered_at, event_id="jm-9")])
    settle(platform)
    # The parcel is made while the event is being applied: neither sees the other's rows.
    with monkeypatch.context() as race:
        race.setattr(tracking, "take_parked", lambda session, shipment: 0)
        parcel = new_parcel(client, shop, order_id).get_json()
    hand_over(client, shop, parcel)
    assert shipment(client, shop, parcel)["state"] == "handed_over"

    assert reconcile(app, "kin") == [
        "kin: 1 parcels had parked events, 1 taken",
        "kin: 0 of 0 parked receipts sent to the region holding their number; 1 parked events applied to 1 parcels"]
    assert reconcile(app, "kin") == [
        "kin: 0 of 0 parked receipts sent to the region holding their number; 0 parked events applied to 0 parcels"]
    again = post_events(client, platform, [event(FIRST_JAMAICAN_PARCEL, "EMI", delivered_at,
                                                 event_id="jm-9")])
    assert statuses(again) == ["duplicate"]
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "delivered" and [e["code"] for e in seen["timeline"]] == ["EMI"]
    assert len(delivered_events(router)) == 1
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "delivered"


def test_reconcile_sends_receipts_a_range_now_holds_to_their_region_and_says_what_it_matched(app, client, router,
                                                                                             platform, monkeypatch):
    # Trinidad's operator reports a Jamaican number before Jamaica's range is known here: parked
    # in pos, the receiving region. Once the range is back, reconcile sends it to kin through
    # pos's outbox, and kin applies it to the parcel made meanwhile.
    shop, _, order_id = paid_order(client, router, platform)
    every_range = s10.ranges()
    with monkeypatch.context() as before_the_range:
        before_the_range.setattr(s10, "ranges", lambda: tuple(r for r in every_range if r.country != "JM"))
        early = post_events(client, platform, [event(FIRST_JAMAICAN_PARCEL, "EMD", minutes_from_now(1),
                                                     office="TTPOSA")], operator="tt")
    assert statuses(early) == ["parked"] and early.get_json()["region"] == "pos"
    parcel = new_parcel(client, shop, order_id).get_json()
    hand_over(client, shop, parcel)

    assert reconcile(app, "pos") == [
        "pos: 1 parked receipts checked, 1 sent on",
        "pos: 1 of 1 parked receipts sent to the region holding their number, 1 to kin; 0 parked events applied "
        "to 0 parcels"]
    assert reconcile(app, "pos")[-1].startswith("pos: 0 of 0 parked receipts sent")
    assert tracking.parked_receipts(router=router, region="pos") == []
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "in_transit" and [e["code"] for e in seen["timeline"]] == ["EMD"]
    with router.unit_of_work("pos", read_only=True) as uow:  # nothing of kin's was written in pos
        assert uow.session.scalars(select(TrackingEvent)).all() == []
