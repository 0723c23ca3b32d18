"""Order mail: the merchant's new-order notice from the merchant's region, the buyer's
confirmation from the buyer's region, both as .eml files in the embedded default's folder,
with the right recipients, an HTML alternative, and no address or body in a log line."""

from __future__ import annotations

import logging

import pytest

from marketplace.merchants import accounts
from marketplace.buyers import accounts as buyers
from tests.api.test_merchant_api import merchant
from tests.support.buyers import PASSWORD
from tests.support.mail import delivered
from tests.support.webhooks import order_event, publish

BUYER_REGION = "pos"  # Trinidad's, not the merchant's (kin): the confirmation must come from here


@pytest.fixture
def buyer_id(router) -> str:
    """A buyer homed in Port of Spain, whose address only its region holds."""
    return buyers.sign_up(router=router, email="Ana@Buyer.example", password=PASSWORD, name="Ana",
                          home_country="TT").id


def test_the_merchants_owners_are_told_of_a_new_order(app, router, platform, caplog):
    principal, _ = merchant(router, "Mail Roasters", "JM")
    accounts.add_staff(router=router, principal=principal, email="co-owner@mail-roasters.example",
                       password="correct horse battery", role="owner")
    accounts.add_staff(router=router, principal=principal, email="packer@mail-roasters.example",
                       password="correct horse battery")
    with caplog.at_level(logging.INFO), delivered(app) as messages:
        publish(router, principal.region, "orders.created", order_event(principal))
        publish(router, principal.region, "orders.paid", order_event(principal, state="paid"))  # no mail for this one
        platform.relay().drain()
        platform.relay().drain()
    assert sorted(m["To"] for m in messages) == ["co-owner@mail-roasters.example", "owner@mail-roasters.example"]
    message = messages[0]
    assert "ord_01M8A0000000000000000000AB" in message["Subject"] and "Mail Roasters" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "2 x Blue Mountain coffee (BM-250)" in text and "90.00" in text
    assert "<strong>Mail Roasters</strong>" in message.get_body(("html",)).get_content()
    assert "owner@mail-roasters.example" not in caplog.text and "Blue Mountain" not in caplog.text


def test_the_buyer_is_confirmed_from_the_buyers_region(app, router, platform, buyer_id, caplog):
    payload = {"checkout_id": "chk-1", "buyer_id": buyer_id, "region": BUYER_REGION, "orders": [
        {"order_id": "ord_01M8A0000000000000000000AB", "merchant_name": "Kingston <Roasters>",
         "total": {"amount_minor": 9000, "currency": "JMD"}},
        {"order_id": "ord_01M8A0000000000000000000AC", "merchant_name": "Fort Rhum",
         "total": {"amount_minor": 2500, "currency": "EUR"}}]}
    with caplog.at_level(logging.INFO), delivered(app) as messages:
        publish(router, BUYER_REGION, "checkouts.confirmed", payload)
        platform.relay().drain()
        platform.relay().drain()  # applied once
    [message] = messages
    assert message["To"] == "ana@buyer.example"
    text = message.get_body(("plain",)).get_content()
    assert "Kingston <Roasters>: order ord_01M8A0000000000000000000AB" in text and "Fort Rhum" in text
    assert "Kingston &lt;Roasters&gt;" in message.get_body(("html",)).get_content()  # escaped, not markup
    assert "ana@buyer.example" not in caplog.text and "Fort Rhum" not in caplog.text


def test_a_region_that_does_not_hold_the_buyer_sends_nothing_and_the_log_says_why(app, router, platform, buyer_id,
                                                                                   caplog):
    payload = {"checkout_id": "chk-2", "buyer_id": buyer_id, "region": "kin", "orders": []}
    with caplog.at_level(logging.WARNING), delivered(app) as messages:
        publish(router, "kin", "checkouts.confirmed", payload)  # Kingston has no address of a Trinidad buyer
        platform.relay().drain()
    assert messages == []
    assert "no order confirmation" in caplog.text
