"""A merchant gets each parcel's customs papers through the merchant API and the dashboard: the
CN22 or CN23 as PDF and the ITMATT-like advance data, filled from the order's lines (the rule
for which form is customs.py's); a parcel that stays in its country needs none; another
merchant finds nothing. The label says what the postman collects on a cash-on-delivery parcel."""

from __future__ import annotations

import re

import pypdfium2

from marketplace.orders.models import MerchantOrder
from tests.api.test_dashboard_parcels import parcel_ids
from tests.api.test_merchant_api import product_body
from tests.api.test_orders_lifecycle import paid_order
from tests.api.test_storefront_pages import PASSWORD, post_form
from tests.support.postal import delivered_by_post
from tests.support.shop import buyer_with_address, check_out, open_shop, settle

API = "/api/v1/merchant/shipments"


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def dashboard_of(app, name: str):
    """A browser signed in to the dashboard as the owner of the shop called `name` (open_shop's email)."""
    browser = app.test_client()
    email = f"owner@{name.lower().replace(' ', '-')}.example"
    assert post_form(browser, "/dashboard/signin", {"email": email, "password": PASSWORD}).status_code == 303
    return browser


def order_to_trinidad(client, router, platform, *, name: str = "Kingston Roasters", buyer: str = "Tara Buyer",
                      high_value: bool = False, payment_method: str | None = None):
    """A Jamaican merchant's paid order for a buyer in Trinidad: two 250 g bags of coffee at
    JMD45.00 (JMD90.00, well under 300 SDR), or two bags of a JMD40,000.00 lot (JMD80,000.00 =
    US$504.73 at 158.50 = 371.13 SDR at US$1.36: over the CN22's 300)."""
    shop = open_shop(router, client, name, "JM")
    variant_id = shop.variant_id
    if high_value:
        body = product_body(ref="rare-lot", sku_prefix="LOT")
        body["variants"][0]["base_price"], body["variants"][0]["tiers"] = 4_000_000, []
        made = client.post("/api/v1/merchant/products", json=body, headers=shop.auth)
        assert made.status_code == 201, made.get_json()
        variant_id = made.get_json()["variants"][0]["id"]
    _, auth, address_id = buyer_with_address(client, buyer, "TT")
    assert client.put("/api/v1/cart/lines", headers=auth, json={"merchant_id": shop.merchant_id, "variant_id": variant_id,
                                                                 "quantity": 2}).status_code == 200
    extra = {"payment_method": payment_method} if payment_method else {}
    assert check_out(client, auth, address_id, **extra).status_code in (201, 202)
    settle(platform)
    [order] = client.get("/api/v1/orders", headers=auth).get_json()["items"]
    assert order["state"] == "paid", order
    parcel = client.post(f"/api/v1/merchant/orders/{order['id']}/shipments", headers=shop.auth, json={"weight_g": 800})
    assert parcel.status_code == 201, parcel.get_json()
    return shop, order["id"], parcel.get_json()


def test_a_parcel_to_trinidad_gets_a_cn22_filled_from_its_order_lines(client, router, platform):
    shop, _, parcel = order_to_trinidad(client, router, platform)
    form = client.get(f"{API}/{parcel['id']}/customs-form", headers=shop.auth)
    assert form.status_code == 200 and form.mimetype == "application/pdf"
    assert form.headers["Cache-Control"] == "no-store"
    text = pdf_text(form.data)
    assert "CN 22" in text and "CN 23" not in text and parcel["tracking_number"] in text
    assert all(part in text for part in ("Blue Mountain coffee, roasted beans", "| 2 |", "0.520", "090121", "| JM",
                                         "90.00 JMD", "[X] Sale of goods", "Tara Buyer", "Kingston Roasters Ltd"))

    gift = pdf_text(client.get(f"{API}/{parcel['id']}/customs-form?category=gift", headers=shop.auth).data)
    assert "[X] Gift" in gift and "[ ] Sale of goods" in gift


def test_a_high_value_order_gets_a_cn23(client, router, platform):
    shop, _, parcel = order_to_trinidad(client, router, platform, high_value=True)
    text = pdf_text(client.get(f"{API}/{parcel['id']}/customs-form", headers=shop.auth).data)
    assert "CN 23" in text and "80000.00 JMD" in text and "371.13 SDR" in text and "Postal charges" in text


def test_the_advance_data_lists_the_item_its_lines_values_and_currency(client, router, platform):
    shop, order_id, parcel = order_to_trinidad(client, router, platform)
    answer = client.get(f"{API}/{parcel['id']}/advance-data", headers=shop.auth)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    data = answer.get_json()
    assert (data["item_id"], data["declaration_form"], data["category_of_item"]) == (
        parcel["tracking_number"], "CN22", "sale_of_goods")
    assert (data["order_reference"], data["destination_country"], data["currency"], data["total_value"]) == (
        order_id, "TT", "JMD", 9_000)
    assert data["contents"] == [{"description": "Blue Mountain coffee, roasted beans", "quantity": 2,
                                 "net_weight_g": 520, "value": 9_000, "hs_code": "090121", "origin_country": "JM"}]
    assert data["posted_at"] is None  # not handed over yet
    client.post(f"{API}/{parcel['id']}/hand-over", headers=shop.auth, json={})
    assert client.get(f"{API}/{parcel['id']}/advance-data", headers=shop.auth).get_json()["posted_at"] is not None


def test_a_return_from_trinidad_is_declared_as_returned_goods_sent_by_the_buyer(client, router, platform):
    shop, order_id, parcel = order_to_trinidad(client, router, platform)
    client.post(f"{API}/{parcel['id']}/hand-over", headers=shop.auth, json={})
    delivered_by_post(client, platform, parcel)
    settle(platform)
    back = client.post(f"/api/v1/merchant/orders/{order_id}/returns", headers=shop.auth, json={"weight_g": 750})
    assert back.status_code == 201, back.get_json()
    data = client.get(f"{API}/{back.get_json()['id']}/advance-data", headers=shop.auth).get_json()
    assert data["category_of_item"] == "returned_goods" and data["item_id"] == back.get_json()["tracking_number"]
    assert data["sender"] == {"name": "Tara Buyer", "country": "TT"} and data["destination_country"] == "JM"
    form = pdf_text(client.get(f"{API}/{back.get_json()['id']}/customs-form", headers=shop.auth).data)
    assert "[X] Returned goods" in form and "From: Tara Buyer (TT)" in form


def test_an_unknown_category_of_item_is_refused_naming_it(client, router, platform):
    shop, _, parcel = order_to_trinidad(client, router, platform)
    for path in ("customs-form", "advance-data"):
        refused = client.get(f"{API}/{parcel['id']}/{path}?category=present", headers=shop.auth)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
        assert "present" in refused.get_json()["detail"] and "category" in refused.get_json()["errors"]


def test_a_parcel_that_crosses_no_border_needs_no_customs_form(client, router, platform):
    shop, _, order_id = paid_order(client, router, platform)  # Jamaica to Jamaica
    parcel = client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=shop.auth, json={"weight_g": 800}).get_json()
    for path in ("customs-form", "advance-data"):
        refused = client.get(f"{API}/{parcel['id']}/{path}", headers=shop.auth)
        assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
        assert "crosses no border" in refused.get_json()["detail"]


def test_another_merchant_finds_no_customs_papers(client, router, platform):
    shop, _, parcel = order_to_trinidad(client, router, platform)
    other = open_shop(router, client, "Other Roasters", "TT")
    for path in ("customs-form", "advance-data"):
        assert client.get(f"{API}/{parcel['id']}/{path}", headers=other.auth).status_code == 404
        assert client.get(f"{API}/{parcel['id']}/{path}", headers=shop.auth).status_code == 200


def test_the_dashboard_links_the_same_customs_form_only_for_a_parcel_that_crosses_a_border(app, client, router, platform):
    shop, order_id, parcel = order_to_trinidad(client, router, platform)
    browser = dashboard_of(app, "Kingston Roasters")
    page = browser.get(f"/dashboard/orders/{order_id}").get_data(as_text=True)
    [link] = re.findall(r'href="(/dashboard/parcels/[^"]+/customs-form)"', page)
    assert link == f"/dashboard/parcels/{parcel['id']}/customs-form" and "Customs form (PDF)" in page
    downloaded = browser.get(link)
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/pdf"
    assert pdf_text(downloaded.data) == pdf_text(client.get(f"{API}/{parcel['id']}/customs-form", headers=shop.auth).data)

    home, _, home_order = paid_order(client, router, platform, name="Home Roasters")
    client.post(f"/api/v1/merchant/orders/{home_order}/shipments", headers=home.auth, json={"weight_g": 800})
    at_home = dashboard_of(app, "Home Roasters")
    domestic = at_home.get(f"/dashboard/orders/{home_order}").get_data(as_text=True)
    assert len(parcel_ids(at_home, home_order)) == 1 and "Customs form (PDF)" not in domestic


def test_a_cash_on_delivery_label_says_what_the_postman_collects(app, client, router, platform):
    shop, order_id, parcel = order_to_trinidad(client, router, platform, payment_method="cash_on_delivery")
    with router.unit_of_work(shop.region, read_only=True) as uow:
        total = uow.session.get(MerchantOrder, order_id).total_amount
    label = pdf_text(client.get(f"{API}/{parcel['id']}/label", headers=shop.auth).data)
    assert f"CASH ON DELIVERY: {total // 100}.{total % 100:02d} JMD" in label
    dashboard = dashboard_of(app, "Kingston Roasters").get(f"/dashboard/parcels/{parcel['id']}/label")
    assert f"CASH ON DELIVERY: {total // 100}.{total % 100:02d} JMD" in pdf_text(dashboard.data)

    paid_by_card, _, card_parcel = order_to_trinidad(client, router, platform, name="Card Roasters", buyer="Carl Buyer")
    assert "CASH ON DELIVERY" not in pdf_text(client.get(f"{API}/{card_parcel['id']}/label", headers=paid_by_card.auth).data)
