"""Shipments through the merchant API: a parcel of a paid order gets a tracking number and a
label whose barcode scans back to it; hand-over ships the order; the operator's delivery
event delivers it and tells payments; a delivered order's return gets its own number."""

from __future__ import annotations

import pypdfium2
import zxingcpp
from sqlalchemy import select

from logistics import s10
from marketplace.regions.models import OutboxEvent
from tests.api.test_orders_lifecycle import paid_order
from tests.support.postal import event, post_events
from tests.support.shop import open_shop, settle


def new_parcel(client, shop, order_id, **body):
    return client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=shop.auth,
                       json={"weight_g": 800, **body})


def decoded_barcodes(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=4).to_pil()
    finally:
        document.close()
    return [(found.format == zxingcpp.BarcodeFormat.Code128, found.text) for found in zxingcpp.read_barcodes(image)]


def test_a_parcel_gets_a_tracking_number_of_its_region_and_a_label_that_scans_back(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    made = new_parcel(client, shop, order_id, service="ems")
    assert made.status_code == 201, made.get_json()
    parcel = made.get_json()
    number = parcel["tracking_number"]
    assert number.startswith("EE") and number.endswith("JM") and s10.region_of(number) == shop.region == "kin"
    assert parcel["state"] == "created" and parcel["addressee"]["city"] == "Kingston"
    heavy = new_parcel(client, shop, order_id, service="small_packet", weight_g=2_500)
    assert heavy.status_code == 422 and "2000" in heavy.get_json()["errors"]["weight_g"][0]
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "in_fulfilment"

    label = client.get(f"/api/v1/merchant/shipments/{parcel['id']}/label", headers=shop.auth)
    assert label.status_code == 200 and label.mimetype == "application/pdf"
    assert decoded_barcodes(label.data) == [(True, number)]


def test_parcels_never_share_a_number_and_a_retried_request_makes_no_second(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    key = {**shop.auth, "Idempotency-Key": "parcel-1"}
    first = client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=key, json={"weight_g": 500})
    again = client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=key, json={"weight_g": 500})
    other = new_parcel(client, shop, order_id)
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    numbers = [p["tracking_number"] for p in client.get(f"/api/v1/merchant/orders/{order_id}/shipments",
                                                        headers=shop.auth).get_json()]
    assert len(numbers) == 2 and len(set(numbers)) == 2 and other.get_json()["tracking_number"] in numbers


def test_hand_over_ships_the_order_and_delivery_delivers_it_and_tells_payments(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    parcel = new_parcel(client, shop, order_id).get_json()
    handed = client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=shop.auth, json={})
    assert handed.status_code == 200 and handed.get_json()["state"] == "handed_over"
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "shipped"

    number = parcel["tracking_number"]
    answer = post_events(client, platform, [event(number, "EMA", "2026-12-03T08:00:00+00:00"),
                                            event(number, "EMI", "2026-12-04T15:30:00+00:00")])
    assert answer.status_code == 202 and [r["status"] for r in answer.get_json()["results"]] == ["accepted", "accepted"]
    settle(platform)

    order = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert order["state"] == "delivered" and order["transitions"][-1]["actor"] == "postal"
    with router.unit_of_work("kin", read_only=True) as uow:
        [delivered] = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "shipments.delivered")).all()
    assert delivered.payload == {
        "merchant_order_id": order_id, "merchant_id": shop.merchant_id, "checkout_id": order["checkout_id"],
        "shipment_id": parcel["id"], "tracking_number": number, "delivered_at": "2026-12-04T15:30:00+00:00",
        "cash_collected": None, "to_region": "kin"}
    assert client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()["state"] == "delivered"

    [tracked] = client.get(f"/api/v1/orders/{order_id}/parcels", headers=auth).get_json()
    assert tracked["tracking_number"] == number and tracked["state"] == "delivered"
    assert [e["code"] for e in tracked["timeline"]] == ["EMA", "EMI"]


def test_an_order_of_two_parcels_is_delivered_when_both_are(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    parcels = [new_parcel(client, shop, order_id).get_json() for _ in range(2)]
    for parcel in parcels:
        client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=shop.auth, json={})
    post_events(client, platform, [event(parcels[0]["tracking_number"], "EMI", "2026-12-04T10:00:00+00:00")])
    settle(platform)
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "shipped"
    post_events(client, platform, [event(parcels[1]["tracking_number"], "EMI", "2026-12-05T10:00:00+00:00")])
    settle(platform)
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "delivered"


def test_a_parcel_is_made_only_for_a_paid_order_and_a_return_only_after_delivery(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    early = client.post(f"/api/v1/merchant/orders/{order_id}/returns", headers=shop.auth, json={"weight_g": 800})
    assert early.status_code == 409 and "delivered" in early.get_json()["detail"]
    parcel = new_parcel(client, shop, order_id).get_json()
    client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=shop.auth, json={})
    assert new_parcel(client, shop, order_id).status_code == 409  # shipped already
    post_events(client, platform, [event(parcel["tracking_number"], "EMI", "2026-12-04T10:00:00+00:00")])
    settle(platform)

    made = client.post(f"/api/v1/merchant/orders/{order_id}/returns", headers=shop.auth, json={"weight_g": 750})
    assert made.status_code == 201, made.get_json()
    back = made.get_json()
    assert back["kind"] == "return" and back["tracking_number"] != parcel["tracking_number"]
    assert back["tracking_number"].startswith("CR") and s10.region_of(back["tracking_number"]) == "kin"
    assert back["sender"]["city"] == "Kingston" and back["addressee"]["country"] == "JM"
    label = client.get(f"/api/v1/merchant/shipments/{back['id']}/label", headers=shop.auth)
    assert decoded_barcodes(label.data) == [(True, back["tracking_number"])]
    assert [s["id"] for s in client.get("/api/v1/merchant/shipments/exceptions", headers=shop.auth).get_json()] == [back["id"]]


def test_another_merchant_sees_none_of_it(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    other = open_shop(router, client, "Other Roasters", "TT")
    parcel = new_parcel(client, shop, order_id).get_json()
    for path in (f"/api/v1/merchant/shipments/{parcel['id']}", f"/api/v1/merchant/shipments/{parcel['id']}/label",
                 f"/api/v1/merchant/orders/{order_id}/shipments"):
        assert client.get(path, headers=other.auth).status_code == 404
    assert client.post(f"/api/v1/merchant/shipments/{parcel['id']}/hand-over", headers=other.auth, json={}).status_code == 404
    assert new_parcel(client, other, order_id).status_code == 404
