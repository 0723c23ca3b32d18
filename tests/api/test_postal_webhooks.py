"""POST /webhooks/postal as operators use it: signed per operator with a replay window, each
event of a batch on its own, duplicates harmless, late events kept but never moving a parcel
backwards, unknown numbers parked, and events handed to the region that holds the parcel."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from logistics import tracking
from logistics.models import PostalReceipt, TrackingEvent
from marketplace.orders.models import MerchantOrder
from tests.api.test_orders_lifecycle import paid_order
from tests.api.test_shipments import new_parcel
from tests.support.postal import event, post_events
from tests.support.shop import settle


def shipped_parcel(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    parcel = new_parcel(client, shop, order_id).get_json()
    client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=shop.auth, json={})
    return shop, auth, order_id, parcel


def shipment(client, shop, parcel):
    """The parcel's fields with its timeline."""
    seen = client.get(f"/api/v1/merchant/shipments/{parcel['id']}", headers=shop.auth).get_json()
    return {**seen["shipment"], "timeline": seen["timeline"]}


def statuses(answer):
    return [r["status"] for r in answer.get_json()["results"]]


def test_a_good_signature_is_accepted_and_applied(client, router, platform):
    shop, _, _, parcel = shipped_parcel(client, router, platform)
    answer = post_events(client, platform, [event(parcel["tracking_number"], "EMA", "2026-12-03T08:00:00+00:00")])
    assert answer.status_code == 202 and statuses(answer) == ["accepted"] and answer.get_json()["region"] == "kin"
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "posted" and [e["code"] for e in seen["timeline"]] == ["EMA"]
    assert seen["timeline"][0]["meaning"].startswith("Posted")


def test_a_bad_signature_another_operators_secret_or_an_unknown_operator_is_refused(client, router, platform):
    body = [event("CP100000003JM", "EMA", "2026-12-03T08:00:00+00:00")]
    for answer in (post_events(client, platform, body, secret="not-the-secret"),
                   post_events(client, platform, body, secret=platform.settings.postal_secrets["tt"]),
                   post_events(client, platform, body, operator="xx", secret="anything")):
        assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
        assert "CPU-Signature" in answer.get_json()["detail"]
    assert not _receipts(router)


def test_a_stale_timestamp_is_refused_even_with_the_right_secret(client, router, platform):
    body = [event("CP100000003JM", "EMA", "2026-12-03T08:00:00+00:00")]
    assert post_events(client, platform, body, at=int(time.time()) - 301).status_code == 401
    assert post_events(client, platform, body, at=int(time.time()) + 301).status_code == 401
    assert post_events(client, platform, body, at=int(time.time()) - 200).status_code == 202


def test_a_body_changed_after_signing_is_refused(client, router, platform):
    from marketplace.webhooks import signing

    body = json.dumps({"events": [event("CP100000003JM", "EMA", "2026-12-03T08:00:00+00:00")]}).encode()
    stamp = int(time.time())
    header = signing.header(platform.settings.postal_secrets["jm"], stamp, body)
    answer = client.post("/webhooks/postal", data=body.replace(b"EMA", b"EMI"), content_type="application/json",
                         headers={"CPU-Postal-Operator": "jm", "CPU-Signature": header})
    assert answer.status_code == 401


def test_a_duplicate_event_changes_nothing(client, router, platform):
    shop, _, _, parcel = shipped_parcel(client, router, platform)
    first = event(parcel["tracking_number"], "EMA", "2026-12-03T08:00:00+00:00", event_id="jm-1")
    assert statuses(post_events(client, platform, [first, first])) == ["accepted", "duplicate"]
    settle(platform)
    assert statuses(post_events(client, platform, [first])) == ["duplicate"]
    settle(platform)
    assert len(shipment(client, shop, parcel)["timeline"]) == 1
    assert _count(router, "kin", TrackingEvent) == 1


def test_out_of_order_events_never_move_a_parcel_backwards_but_stay_in_the_timeline(client, router, platform):
    shop, auth, order_id, parcel = shipped_parcel(client, router, platform)
    number = parcel["tracking_number"]
    post_events(client, platform, [event(number, "EMD", "2026-12-04T09:00:00+00:00")])
    post_events(client, platform, [event(number, "EMC", "2026-12-03T20:00:00+00:00")])  # older, arrives later
    settle(platform)
    assert shipment(client, shop, parcel)["state"] == "in_transit"
    post_events(client, platform, [event(number, "EMI", "2026-12-05T11:00:00+00:00")])
    post_events(client, platform, [event(number, "EMG", "2026-12-05T07:00:00+00:00"),   # before delivery, late
                                   event(number, "EMH", "2026-12-06T07:00:00+00:00")])  # after it: delivered is final
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "delivered"
    assert [(e["code"], e["changed_state"]) for e in seen["timeline"]] == [
        ("EMC", False), ("EMD", True), ("EMG", False), ("EMI", True), ("EMH", False)]
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "delivered"


def test_an_unknown_tracking_number_is_parked_never_dropped(client, router, platform):
    # No range holds serial 00000000: parked where it was received. A range holds 10000000 but
    # no parcel has that number yet: parked in the holding region's timeline.
    answer = post_events(client, platform, [event("CP000000005JM", "EMA", "2026-12-03T08:00:00+00:00"),
                                            event("CP100000003JM", "EMA", "2026-12-03T08:00:00+00:00")])
    assert answer.status_code == 202 and statuses(answer) == ["parked", "accepted"]
    settle(platform)
    [parked] = tracking.parked_receipts(router=router, region="kin")
    assert parked.tracking_number == "CP000000005JM"
    with router.unit_of_work("kin", read_only=True) as uow:
        [held] = uow.session.scalars(select(TrackingEvent)).all()
    assert held.tracking_number == "CP100000003JM" and held.shipment_id is None


def test_a_batch_with_one_bad_event_takes_the_others_and_says_what_is_wrong(client, router, platform):
    shop, _, _, parcel = shipped_parcel(client, router, platform)
    number = parcel["tracking_number"]
    bad_digit = number[:10] + str((int(number[10]) + 1) % 10) + number[11:]
    answer = post_events(client, platform, [
        event(number, "EMA", "2026-12-03T08:00:00+00:00"),
        event(bad_digit, "EMB", "2026-12-03T09:00:00+00:00"),
        {**event(number, "EMZ", "2026-12-03T10:00:00"), "office": ""},
        event(number, "EMC", "2026-12-03T11:00:00+00:00"),
    ])
    assert answer.status_code == 202 and statuses(answer) == ["accepted", "rejected", "rejected", "accepted"]
    results = answer.get_json()["results"]
    assert "check digit" in results[1]["errors"]["tracking_number"][0]
    assert set(results[2]["errors"]) == {"code", "occurred_at", "office"}
    settle(platform)
    assert [e["code"] for e in shipment(client, shop, parcel)["timeline"]] == ["EMA", "EMC"]


def test_a_body_that_is_not_a_batch_is_a_422(client, platform):
    for events in ([], "EMA"):
        answer = post_events(client, platform, events)
        assert answer.status_code == 422 and "events" in answer.get_json()["errors"]


def test_any_region_takes_the_batch_and_the_holding_region_applies_it(client, router, platform):
    # Trinidad's operator reports a Jamaican parcel: recorded in pos, applied in kin.
    shop, auth, order_id, parcel = shipped_parcel(client, router, platform)
    answer = post_events(client, platform, [event(parcel["tracking_number"], "EMD", "2026-12-04T09:00:00+00:00",
                                                  office="TTPOSA")], operator="tt")
    assert answer.status_code == 202 and answer.get_json()["region"] == "pos" and statuses(answer) == ["accepted"]
    assert [r.routed_to for r in _receipts(router, "pos")] == ["kin"] and not _receipts(router, "kin")
    settle(platform)
    assert shipment(client, shop, parcel)["state"] == "in_transit"


def test_only_an_operator_at_one_end_of_the_parcel_can_deliver_it(client, router, platform):
    # Delivery releases the merchant's money: Trinidad's operator, at neither end of a parcel
    # from Jamaica to Jamaica, may report it in transit but not deliver it; Jamaica's may.
    shop, auth, order_id, parcel = shipped_parcel(client, router, platform)
    number = parcel["tracking_number"]
    post_events(client, platform, [event(number, "EMI", "2026-12-04T09:00:00+00:00", office="TTPOSA")], operator="tt")
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] != "delivered" and [e["code"] for e in seen["timeline"]][-1] == "EMI"
    post_events(client, platform, [event(number, "EMI", "2026-12-04T10:00:00+00:00")], operator="jm")
    settle(platform)
    assert shipment(client, shop, parcel)["state"] == "delivered"


def addressed_to(router, shop, order_id: str, country: str) -> None:
    with router.unit_of_work(shop.region) as uow:
        order = uow.session.get(MerchantOrder, order_id)
        order.ship_to = {**order.ship_to, "country": country}
        uow.commit()


def _receipts(router, region: str = "kin") -> list[PostalReceipt]:
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(select(PostalReceipt)))


def _count(router, region, model) -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        return len(uow.session.scalars(select(model)).all())


def test_the_replay_command_moves_the_demo_parcel_through_the_signed_endpoint(app, client, router, platform):
    shop, auth, order_id, parcel = shipped_parcel(client, router, platform)
    assert parcel["tracking_number"] == "CP100000003JM"  # the first Jamaican parcel, as the demo file expects
    addressed_to(router, shop, order_id, "TT")  # the demo file's story: Kingston to Trinidad, delivered there
    result = app.test_cli_runner().invoke(args=["cpu", "postal", "replay"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "batch 0 (jm, 3 events): 202 accepted 3",
        "batch 1 (tt, 6 events): 202 accepted 6",
        "batch 2 (jm, 2 events): 202 accepted 1, duplicate 1",
    ]
    settle(platform)
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "delivered" and len(seen["timeline"]) == 9
    [tracked] = client.get(f"/api/v1/orders/{order_id}/parcels", headers=auth).get_json()
    assert [e["code"] for e in tracked["timeline"]][:5] == ["EMA", "EMB", "EMC", "EMD", "EME"]  # by event time


def test_the_tracking_page_and_the_dashboard_show_a_parcel_held_by_customs(app, client, router, platform):
    from tests.api.test_storefront_pages import post_form

    shop, auth, order_id, parcel = shipped_parcel(client, router, platform)
    number = parcel["tracking_number"]
    post_events(client, platform, [event(number, "EMD", "2026-12-04T07:00:00+00:00", office="TTPOSX"),
                                   event(number, "EME", "2026-12-04T08:00:00+00:00", office="TTPOSX",
                                         detail="Invoice requested")])
    settle(platform)
    page = client.get(f"/track?number={number.lower()}").get_data(as_text=True)
    assert "held by customs" in page and "Invoice requested" in page and "Kingston" not in page  # no address shown
    assert client.get("/track?number=CP100000017JM").status_code == 404  # valid, but no parcel has it
    assert client.get("/track?number=nonsense").status_code == 404

    staff = app.test_client()
    assert post_form(staff, "/dashboard/signin", {"email": "owner@life-roasters.example",
                                                  "password": "correct horse battery"}).status_code == 303
    dashboard = staff.get("/dashboard/parcels").get_data(as_text=True)
    assert number in dashboard and "held by customs" in dashboard
