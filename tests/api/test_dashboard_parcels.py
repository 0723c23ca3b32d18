"""Shipping from the dashboard alone: an order's page makes a parcel (the merchant API's
service and schema), lists it with its label, and hands it over, which ships the order.
Through the Flask test client with CSRF on; staff as owners; another merchant finds nothing."""

from __future__ import annotations

import re

from marketplace.merchants import accounts
from tests.api.test_dashboard_orders import make_order, owner  # noqa: F401  (the signed-in owner fixture)
from tests.api.test_storefront_pages import (PASSWORD, assert_accessible_outline, csrf_token, open_merchant, page_text,
                                             post_form, sign_in_as)


def make_parcel(client, order_id, **fields):
    page = f"/dashboard/orders/{order_id}"
    key = re.search(r'name="idempotency_key" value="([^"]+)"', client.get(page).get_data(as_text=True)).group(1)
    return post_form(client, f"{page}/parcels", {"service": "registered_parcel", "weight_g": "1200",
                                                 "idempotency_key": key, **fields}, form_page=page)


def parcel_ids(client, order_id) -> list[str]:
    return re.findall(r'href="/dashboard/parcels/(shp_[^/"]+)/label"', client.get(f"/dashboard/orders/{order_id}").get_data(as_text=True))


def test_a_parcel_made_on_the_order_page_is_listed_labelled_and_handed_over_which_ships_the_order(client, router, owner):
    order_id = make_order(router, owner)
    page = client.get(f"/dashboard/orders/{order_id}")
    assert_accessible_outline(page)
    assert "No parcels yet." in page_text(page) and "Create a parcel" in page_text(page)
    assert "Small packet (tracked), up to 2,000 g" in page_text(page)  # the services of services.toml

    made = make_parcel(client, order_id)
    assert made.status_code == 303 and made.headers["Location"] == f"/dashboard/orders/{order_id}"
    after = client.get(f"/dashboard/orders/{order_id}")
    assert_accessible_outline(after)
    text = page_text(after)
    number = re.search(r"Parcel ([A-Z]{2}\d{9}[A-Z]{2}) is made", text).group(1)
    assert f"{number} outbound registered parcel 1,200 g created" in text
    assert "State: in fulfilment" in text  # the first parcel puts a paid order in fulfilment
    [shipment_id] = parcel_ids(client, order_id)

    label = client.get(f"/dashboard/parcels/{shipment_id}/label")
    assert label.status_code == 200 and label.mimetype == "application/pdf" and label.data.startswith(b"%PDF")
    assert f'filename="{number}.pdf"' in label.headers["Content-Disposition"]
    assert label.headers["Cache-Control"] == "no-store"

    handed = post_form(client, f"/dashboard/parcels/{shipment_id}/hand-over", {}, form_page=f"/dashboard/orders/{order_id}")
    assert handed.status_code == 303 and handed.headers["Location"] == f"/dashboard/orders/{order_id}"
    shipped = page_text(client.get(f"/dashboard/orders/{order_id}"))
    assert "State: shipped" in shipped and f"Parcel {number} is with the post." in shipped
    assert f"{number} outbound registered parcel 1,200 g handed over" in shipped
    assert "Hand over to the post" not in shipped and "Create a parcel" not in shipped
    assert shipped.count("in fulfilment → shipped") == 1


def test_pressing_twice_makes_one_parcel_and_hands_it_over_once(client, router, owner):
    order_id = make_order(router, owner)
    page = f"/dashboard/orders/{order_id}"
    form = client.get(page).get_data(as_text=True)
    sent = {"csrf_token": csrf_token(client, page), "service": "small_packet", "weight_g": "300",
            "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)}
    assert [client.post(f"{page}/parcels", data=sent).status_code for _ in range(2)] == [303, 303]
    [shipment_id] = parcel_ids(client, order_id)
    for _ in range(2):
        assert post_form(client, f"/dashboard/parcels/{shipment_id}/hand-over", {}, form_page=page).status_code == 303
    assert page_text(client.get(page)).count("→ shipped") == 1
    assert len(parcel_ids(client, order_id)) == 1


def test_a_parcel_of_an_order_cancelled_meanwhile_is_not_handed_over(client, router, owner):
    order_id = make_order(router, owner)
    page = f"/dashboard/orders/{order_id}"
    assert make_parcel(client, order_id).status_code == 303
    [shipment_id] = parcel_ids(client, order_id)
    assert "Hand over to the post" in page_text(client.get(page))
    assert post_form(client, f"{page}/state", {"state": "cancelled"}, form_page=page).status_code == 303
    cancelled = page_text(client.get(page))
    assert "State: cancelled" in cancelled and "Hand over to the post" not in cancelled  # no button that cannot work
    refused = post_form(client, f"/dashboard/parcels/{shipment_id}/hand-over", {}, form_page=page)
    assert refused.status_code == 409 and "cancelled" in page_text(refused)
    assert "outbound registered parcel 1,200 g created" in page_text(client.get(page))


def test_a_bad_weight_is_shown_next_to_the_field_and_makes_no_parcel(client, router, owner):
    order_id = make_order(router, owner)
    for weight, message in (("lots", "Not a valid integer."), ("0", "greater than or equal to 1"),
                            ("2500", "at most 2000 for small_packet")):  # the schema's, then the service's limit
        refused = make_parcel(client, order_id, service="small_packet", weight_g=weight)
        assert refused.status_code == 422, weight
        body = refused.get_data(as_text=True)
        error = re.search(r'<p class="field-error" id="weight_g-error">(.*?)</p>', body, re.S).group(1)
        assert message in error, (weight, error)
        assert 'aria-invalid="true"' in body and f'value="{weight}"' in body
        assert_accessible_outline(refused)
    assert parcel_ids(client, order_id) == []
    assert "State: paid" in page_text(client.get(f"/dashboard/orders/{order_id}"))


def test_an_order_not_yet_paid_offers_no_parcel_and_refuses_one(client, router, owner):
    order_id = make_order(router, owner, state="pending_payment")
    assert "Create a parcel" not in page_text(client.get(f"/dashboard/orders/{order_id}"))
    refused = make_parcel_without_form(client, order_id)
    assert refused.status_code == 409 and "parcels are made for paid orders" in page_text(refused)


def make_parcel_without_form(client, order_id):
    token = csrf_token(client, f"/dashboard/orders/{order_id}")
    return client.post(f"/dashboard/orders/{order_id}/parcels", data={"csrf_token": token, "weight_g": "500"})


def test_staff_ship_as_owners_do_and_another_merchant_finds_nothing(app, client, router, owner):
    accounts.add_staff(router=router, principal=owner, email="packer@order-pages.example", password=PASSWORD)
    staff = app.test_client()
    assert post_form(staff, "/dashboard/signin", {"email": "packer@order-pages.example", "password": PASSWORD}).status_code == 303
    order_id = make_order(router, owner)
    assert make_parcel(staff, order_id).status_code == 303
    [shipment_id] = parcel_ids(staff, order_id)

    other = open_merchant(router, handle="other-shop", country="MQ")
    stranger = app.test_client()
    sign_in_as(stranger, other)
    assert stranger.get(f"/dashboard/parcels/{shipment_id}/label").status_code == 404
    assert post_form(stranger, f"/dashboard/orders/{order_id}/parcels", {"weight_g": "500"},
                     form_page="/dashboard/orders/").status_code == 404
    assert post_form(stranger, f"/dashboard/parcels/{shipment_id}/hand-over", {},
                     form_page="/dashboard/orders/").status_code == 404
    assert "State: in fulfilment" in page_text(client.get(f"/dashboard/orders/{order_id}"))

    assert post_form(staff, f"/dashboard/parcels/{shipment_id}/hand-over", {},
                     form_page=f"/dashboard/orders/{order_id}").status_code == 303
    assert "State: shipped" in page_text(client.get(f"/dashboard/orders/{order_id}"))


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(client, router, owner):
    order_id = make_order(router, owner)
    assert client.post(f"/dashboard/orders/{order_id}/parcels", data={"weight_g": "500"}).status_code == 400
    assert parcel_ids(client, order_id) == []
    assert make_parcel(client, order_id).status_code == 303
    [shipment_id] = parcel_ids(client, order_id)
    assert client.post(f"/dashboard/parcels/{shipment_id}/hand-over", data={}).status_code == 400
    assert "State: in fulfilment" in page_text(client.get(f"/dashboard/orders/{order_id}"))


def test_the_sides_are_optional_on_the_form_and_a_parcel_with_them_shows_its_size_and_postage(client, router, owner):
    order_id = make_order(router, owner)
    page = f"/dashboard/orders/{order_id}"
    assert 'name="length_mm"' in client.get(page).get_data(as_text=True)
    blank = make_parcel(client, order_id, length_mm="", width_mm=" ", height_mm="")  # as the form posts them untouched
    assert blank.status_code == 303
    assert make_parcel(client, order_id, service="ems", weight_g="1000",
                       length_mm="400", width_mm="400", height_mm="300").status_code == 303
    text = page_text(client.get(page))
    assert "400 × 400 × 300 mm, billed as 9,600 g" in text


def test_a_bad_side_is_shown_next_to_its_field_and_makes_no_parcel(client, router, owner):
    order_id = make_order(router, owner)
    for sides, field, message in (({"length_mm": "0", "width_mm": "10", "height_mm": "10"}, "length_mm",
                                   "greater than or equal to 1"),
                                  ({"length_mm": "10", "width_mm": "700", "height_mm": "10"}, "width_mm",
                                   "at most 600 for small_packet")):
        refused = make_parcel(client, order_id, service="small_packet", weight_g="300", **sides)
        assert refused.status_code == 422, sides
        body = refused.get_data(as_text=True)
        error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', body, re.S).group(1)
        assert message in error, (sides, error)
        assert_accessible_outline(refused)
    assert parcel_ids(client, order_id) == []
