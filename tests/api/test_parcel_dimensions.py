"""A parcel's sides through the merchant API: a large light parcel is charged by its
volumetric weight where the service bills by volume, its label shows its size, a parcel its
service cannot take is refused with the reason, and bad sides are a 422 naming the field."""

from __future__ import annotations

import pypdfium2

from tests.api.test_orders_lifecycle import paid_order
from tests.api.test_shipments import new_parcel

LAMPSHADE = {"weight_g": 1_000, "length_mm": 400, "width_mm": 400, "height_mm": 300}


def label_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


def test_a_large_light_parcel_is_charged_its_volumetric_weight_and_its_label_shows_its_size(client, router, platform):
    # Kingston to Kingston by EMS: 400 x 400 x 300 mm / 5,000 = 9,600 g billed, domestic 10 kg band US$45.00;
    # by its actual 1 kg it would be the 2 kg band, US$19.00
    shop, _, order_id = paid_order(client, router, platform)
    made = new_parcel(client, shop, order_id, service="ems", **LAMPSHADE)
    assert made.status_code == 201, made.get_json()
    parcel = made.get_json()
    assert (parcel["length_mm"], parcel["width_mm"], parcel["height_mm"]) == (400, 400, 300)
    assert parcel["billable_weight_g"] == 9_600 and parcel["postage"] == {"amount_minor": 4_500, "currency": "USD"}
    unmeasured = new_parcel(client, shop, order_id, service="ems", weight_g=1_000).get_json()
    assert unmeasured["billable_weight_g"] == 1_000 and unmeasured["postage"]["amount_minor"] == 1_900
    assert unmeasured["length_mm"] is None

    # the registered parcel bills actual weight: the same box is its 1 kg, domestic 2 kg band US$6.00
    registered = new_parcel(client, shop, order_id, service="registered_parcel", **LAMPSHADE).get_json()
    assert registered["billable_weight_g"] == 1_000 and registered["postage"]["amount_minor"] == 600

    label = client.get(f"/api/v1/merchant/shipments/{parcel['id']}/label", headers=shop.auth)
    assert label.status_code == 200
    assert "400 × 400 × 300 mm · 9600 g billed" in label_text(label.data)
    assert "mm" not in label_text(client.get(f"/api/v1/merchant/shipments/{unmeasured['id']}/label",
                                             headers=shop.auth).data)


def test_a_parcel_its_service_cannot_take_is_refused_with_the_reason(client, router, platform):
    shop, _, order_id = paid_order(client, router, platform)
    too_big = new_parcel(client, shop, order_id, service="small_packet", weight_g=500,
                         length_mm=400, width_mm=400, height_mm=300)  # 48,000 cm3; a small packet takes 27,000
    assert too_big.status_code == 422
    body = too_big.get_json()
    assert "takes 48000 cm³, the limit is 27000 cm³" in body["detail"] and "parcel" in body["errors"]
    too_long = new_parcel(client, shop, order_id, service="small_packet", weight_g=500,
                          length_mm=100, width_mm=700, height_mm=50)
    assert too_long.status_code == 422 and too_long.get_json()["errors"] == {"width_mm": ["at most 600 for small_packet"]}
    heavy_by_volume = new_parcel(client, shop, order_id, service="ems", weight_g=20_000,
                                 length_mm=1_000, width_mm=700, height_mm=250)  # 35 kg by volume, EMS takes 30
    assert heavy_by_volume.status_code == 422
    assert "volumetric weight 35000 g is over the limit of 30000 g" in heavy_by_volume.get_json()["detail"]
    assert client.get(f"/api/v1/merchant/orders/{order_id}/shipments", headers=shop.auth).get_json() == []


def test_bad_sides_are_a_422_naming_the_field(client, router, platform):
    shop, _, order_id = paid_order(client, router, platform)
    for sides, field in (({"length_mm": 0, "width_mm": 10, "height_mm": 10}, "length_mm"),
                         ({"length_mm": 10, "width_mm": -5, "height_mm": 10}, "width_mm"),
                         ({"length_mm": 10, "width_mm": 10, "height_mm": 10_001}, "height_mm"),
                         ({"length_mm": 10, "width_mm": 10, "height_mm": "tall"}, "height_mm"),
                         ({"length_mm": 10, "width_mm": 10}, "height_mm")):  # all three sides or none
        refused = new_parcel(client, shop, order_id, **sides)
        assert refused.status_code == 422, sides
        assert refused.mimetype == "application/problem+json" and list(refused.get_json()["errors"]) == [field], sides
    assert client.get(f"/api/v1/merchant/orders/{order_id}/shipments", headers=shop.auth).get_json() == []


def test_a_retried_request_with_the_same_sides_makes_one_parcel_and_other_sides_are_refused(client, router, platform):
    shop, _, order_id = paid_order(client, router, platform)
    key = {**shop.auth, "Idempotency-Key": "lampshade-1"}
    url = f"/api/v1/merchant/orders/{order_id}/shipments"
    first = client.post(url, headers=key, json={"service": "ems", **LAMPSHADE})
    again = client.post(url, headers=key, json={"service": "ems", **LAMPSHADE})
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    assert client.post(url, headers=key, json={"service": "ems", **LAMPSHADE, "height_mm": 301}).status_code == 409
