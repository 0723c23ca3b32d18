"""Customs declarations from a merchant order: CN22 up to 300 SDR, CN23 above; the lines'
HS codes, origins and weights come from the catalog; the form as PDF (text read back) and the
ITMATT-like JSON for the destination customs."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from logistics import customs
from marketplace.errors import InvalidInput
from marketplace.orders.models import MerchantOrder
from marketplace.regions.ids import new_id
from tests.api.test_merchant_api import merchant, product_body

S10 = "RR287043775JM"


@pytest.fixture
def shop(router, client):
    principal, auth = merchant(router, "Kingston Roasters", "JM")
    made = client.post("/api/v1/merchant/products", json=product_body(), headers=auth)
    assert made.status_code == 201, made.get_json()
    return principal, {v["sku"]: v["id"] for v in made.get_json()["variants"]}


def order_of(router, shop, *, quantity: int, unit_price: int) -> MerchantOrder:
    principal, variants = shop
    order = MerchantOrder(id=new_id("ord"), region=principal.region, merchant_id=principal.merchant_id,
                          checkout_id=new_id("chk"), buyer_region="bgi", state="paid", currency="USD",
                          goods_amount=quantity * unit_price, shipping_amount=1_800, total_amount=quantity * unit_price + 1_800,
                          lines=[{"variant_id": variants["BM-250"], "sku": "BM-250", "name": "Blue Mountain coffee, roasted beans",
                                  "quantity": quantity, "unit_price": unit_price, "total": quantity * unit_price}],
                          ship_to={"recipient": "Ann Buyer", "line1": "2 Bay Street", "city": "Bridgetown", "country": "BB"})
    with router.unit_of_work(principal.region) as uow:
        uow.session.add(order)
        uow.commit()
    return order


def declared(router, shop, order, **options) -> customs.Declaration:
    with router.unit_of_work(shop[0].region, read_only=True) as uow:
        return customs.customs_declaration(uow.session, uow.session.get(MerchantOrder, order.id), **options)


def test_300_sdr_is_the_last_value_a_cn22_takes():
    # US$1.36 per SDR: US$408.00 is 300.00 SDR, US$408.01 is 300.01 SDR
    assert customs.in_sdr(40_800, "USD") == Decimal("300.00")
    assert customs.in_sdr(40_801, "USD") == Decimal("300.01")


def test_a_cheap_parcel_gets_a_cn22_filled_from_the_order_and_the_catalog(router, shop):
    # 2 x US$45.00 = US$90.00 = 66.18 SDR; 2 x 260 g of coffee, HS 090121, grown in Jamaica
    declaration = declared(router, shop, order_of(router, shop, quantity=2, unit_price=4_500))
    assert (declaration.form, declaration.value_sdr, declaration.total_value) == ("CN22", Decimal("66.18"), 9_000)
    (line,) = declaration.lines
    assert (line.description, line.quantity, line.net_weight_g, line.hs_code, line.origin_country) == (
        "Blue Mountain coffee, roasted beans", 2, 520, "090121", "JM")
    assert declaration.sender == {"name": "Kingston Roasters Ltd", "country": "JM"}


def test_over_300_sdr_it_is_a_cn23_and_the_sender_may_ask_for_one_anyway(router, shop):
    # 10 x US$40.81 = US$408.10 = 300.07 SDR
    assert declared(router, shop, order_of(router, shop, quantity=10, unit_price=4_081)).form == "CN23"
    assert declared(router, shop, order_of(router, shop, quantity=10, unit_price=4_080)).form == "CN22"
    assert declared(router, shop, order_of(router, shop, quantity=1, unit_price=100), cn23=True).form == "CN23"


def test_an_unknown_category_of_item_is_refused_naming_it(router, shop):
    with pytest.raises(InvalidInput) as refused:
        declared(router, shop, order_of(router, shop, quantity=1, unit_price=100), category="present")
    assert "category" in refused.value.errors


@pytest.mark.parametrize(("quantity", "form", "heading"), [(2, "CN22", "CN 22"), (10, "CN23", "CN 23")])
def test_the_pdf_form_reads_back_with_every_particular(router, shop, quantity, form, heading):
    declaration = declared(router, shop, order_of(router, shop, quantity=quantity, unit_price=4_500), category="gift")
    pdf = customs.cn_form_pdf(declaration, item_id=S10)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert declaration.form == form and heading in text and S10 in text
    weight = f"{quantity * 260 / 1000:.3f}"
    value = f"{quantity * 45}.00 USD"
    assert all(part in text for part in ("Blue Mountain coffee, roasted beans", "090121", "| JM", weight, value,
                                         "[X] Gift", "[ ] Sale of goods", "Ann Buyer", "Kingston Roasters Ltd"))
    assert ("Postal charges" in text) == (form == "CN23")


def test_the_advance_data_carries_the_same_contents_for_the_destination(router, shop):
    declaration = declared(router, shop, order_of(router, shop, quantity=2, unit_price=4_500))
    document = customs.itmatt(declaration, item_id=S10)
    assert document["item_id"] == S10 and document["destination_country"] == "BB"
    assert document["declaration_form"] == "CN22" and document["category_of_item"] == "sale_of_goods"
    assert document["contents"] == [{"description": "Blue Mountain coffee, roasted beans", "quantity": 2,
                                     "net_weight_g": 520, "value": 9_000, "hs_code": "090121", "origin_country": "JM"}]
    assert (document["currency"], document["total_value"], document["postage"]) == ("USD", 9_000, 1_800)
