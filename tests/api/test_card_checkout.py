"""Paying a checkout by card: the default method. With a Stripe key the checkout makes a
PaymentIntent through the real `stripe` library (against tests/support/stripe_server.py), the
buyer's app gets the client secret, and Stripe's signed webhook completes the checkout (orders
paid, the ledger booked in each merchant's region) or cancels it (stock released, intent
voided). Without a key the embedded default's stand-in card authorises at once and says so;
production refuses a card checkout. Each payment's later calls go to the provider recorded on
its checkout, whatever the configuration says by then."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from sqlalchemy import select

from marketplace.orders.models import Checkout, MerchantOrder
from payments.gateways import PaymentProviders
from payments.models import LedgerPosting, Refund
from payments.stripe.provider import StripeProvider, client_for
from tests.conftest import own_app
from tests.support import databases
from tests.support.shop import available, buyer_with_address, check_out, open_shop, put, settle
from tests.support.stripe_server import StripeServer, event, signed

SECRET = "whsec_test_card_checkout"


@pytest.fixture(scope="module")
def stripe_setup(database_config):
    with StripeServer() as server, own_app(database_config, CPU_STRIPE_SECRET_KEY="sk_test_card",
                                           CPU_STRIPE_API_BASE=server.url, CPU_STRIPE_WEBHOOK_SECRET=SECRET) as app:
        yield app, server


@pytest.fixture
def card_app(stripe_setup):
    app, server = stripe_setup
    server.fake.requests.clear()
    yield app, server.fake
    databases.wipe(app.extensions["cpu"].router)


def two_merchant_cart(router, client, auth):
    """A cart from Kingston (kin) and Port of Spain (pos): two merchants in two regions."""
    shops = open_shop(router, client, "Kingston Roasters", "JM"), open_shop(router, client, "Port Cocoa", "TT")
    for shop in shops:
        assert put(client, auth, shop, 3).status_code == 200
    return shops


def deliver_webhook(client, fake, type_: str, intent: dict):
    body = json.dumps(event(fake, type_, intent)).encode()
    answer = client.post("/webhooks/stripe", data=body,
                         headers={"Content-Type": "application/json", "Stripe-Signature": signed(body, SECRET)})
    assert answer.status_code == 200, answer.get_json()


def orders_of(router, shop) -> list[str]:
    with router.unit_of_work(shop.region, read_only=True) as uow:
        return [o.state for o in uow.session.scalars(select(MerchantOrder).where(MerchantOrder.merchant_id == shop.merchant_id))]


def postings_of(router, shop) -> list[str]:
    with router.unit_of_work(shop.region, read_only=True) as uow:
        return sorted(p.kind for p in uow.session.scalars(select(LedgerPosting).where(
            LedgerPosting.merchant_id == shop.merchant_id)))


def calls(fake, path_part: str) -> list:
    return [seen for seen in fake.requests if path_part in seen.path and seen.method == "POST"]


def test_a_card_checkout_through_stripe_is_paid_when_the_signed_webhook_says_so(card_app, caplog):
    app, fake = card_app
    client, platform = app.test_client(), app.extensions["cpu"]
    router = platform.router
    _, auth, address_id = buyer_with_address(client)
    shops = two_merchant_cart(router, client, auth)
    caplog.set_level(logging.DEBUG)

    started = check_out(client, auth, address_id)  # no payment_method: a card
    assert started.status_code == 202 and started.get_json()["payment_method"] == "card"
    settle(platform)
    checkout_id = started.get_json()["id"]
    waiting = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    [created] = calls(fake, "/v1/payment_intents")
    intent = fake.objects[waiting["payment_reference"]]
    assert created.idempotency_key == f"{checkout_id}:payment"
    assert created.params["metadata"] == {"checkout_id": checkout_id, "region": "kin", "method": "card"}
    assert int(created.params["amount"]) == waiting["total_amount"] and created.params["currency"] == "jmd"
    assert (waiting["state"], waiting["payment_status"], waiting["settled"]) == ("paying", "pending", False)
    assert waiting["payment_client_secret"] == intent["client_secret"]
    assert intent["client_secret"] not in caplog.text  # shown to the buyer, never logged
    _, other_auth, _ = buyer_with_address(client, "Other Buyer")
    stranger = client.get(f"/api/v1/checkouts/{checkout_id}", headers=other_auth)
    assert stranger.status_code == 404 and intent["client_secret"] not in stranger.get_data(as_text=True)

    confirmed = fake.buyer_confirms(intent["id"])  # the app confirms with the client secret
    # capture_method manual: Stripe says "authorised" with amount_capturable_updated ...
    deliver_webhook(client, fake, "payment_intent.amount_capturable_updated", confirmed)
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert (done["state"], done["payment_status"], done["payment_reference"]) == ("completed", "authorised", intent["id"])
    assert done["payment_client_secret"] is None  # nothing left to confirm
    for shop in shops:
        assert orders_of(router, shop) == ["paid"]
        assert postings_of(router, shop) == ["capture", "payment"]  # the buyer's money is in, held in escrow
        assert available(router, shop) == (497, 0)
    [capture] = calls(fake, "/capture")
    assert capture.idempotency_key == f"{checkout_id}:capture" and int(capture.params["amount_to_capture"]) == done["total_amount"]
    assert fake.objects[intent["id"]]["status"] == "succeeded"

    # ... and payment_intent.succeeded once we captured: the checkout is already complete
    deliver_webhook(client, fake, "payment_intent.succeeded", fake.objects[intent["id"]])
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()["state"] == "completed"
    assert len(calls(fake, "/capture")) == 1 and all(orders_of(router, shop) == ["paid"] for shop in shops)

    # A paid order cancelled by its merchant is refunded by the provider that took the payment
    kingston = shops[0]
    with router.unit_of_work(kingston.region, read_only=True) as uow:
        order = uow.session.scalars(select(MerchantOrder).where(MerchantOrder.merchant_id == kingston.merchant_id)).one()
    moved = client.put(f"/api/v1/merchant/orders/{order.id}/state", headers=kingston.auth, json={"state": "cancelled"})
    assert moved.status_code == 200, moved.get_json()
    settle(platform)
    with router.unit_of_work(kingston.region, read_only=True) as uow:
        refund = uow.session.scalars(select(Refund)).one()
    [refunded] = calls(fake, "/v1/refunds")
    assert refunded.idempotency_key == f"{refund.id}:refund" and refunded.params["payment_intent"] == intent["id"]
    assert int(refunded.params["amount"]) == order.total_amount  # the buyer paid in JMD, the merchant's currency
    assert refund.state == "refunded" and refund.provider_reference.startswith("re_")
    assert intent["client_secret"] not in caplog.text


def test_a_failed_card_payment_cancels_the_checkout_releases_the_stock_and_voids_the_intent(card_app):
    app, fake = card_app
    client, platform = app.test_client(), app.extensions["cpu"]
    router = platform.router
    _, auth, address_id = buyer_with_address(client)
    shops = two_merchant_cart(router, client, auth)
    checkout_id = check_out(client, auth, address_id, payment_method="card").get_json()["id"]
    settle(platform)
    with router.unit_of_work("kin", read_only=True) as uow:
        intent_id = uow.session.get(Checkout, checkout_id).payment_reference

    deliver_webhook(client, fake, "payment_intent.payment_failed", fake.buyer_confirms(intent_id, succeed=False))
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert done["state"] == "failed" and "declined: Your card was declined." in done["reason"]
    assert done["payment_client_secret"] is None
    for shop in shops:
        assert orders_of(router, shop) == ["cancelled"] and available(router, shop) == (500, 0)
        assert postings_of(router, shop) == []
    [void] = calls(fake, "/cancel")  # the app cannot pay it with another card later
    assert void.idempotency_key == f"{checkout_id}:void" and fake.objects[intent_id]["status"] == "canceled"
    assert calls(fake, "/capture") == []


def test_a_bank_transfer_goes_to_the_offline_provider_even_with_stripe(card_app):
    app, fake = card_app
    client, platform = app.test_client(), app.extensions["cpu"]
    _, auth, address_id = buyer_with_address(client)
    two_merchant_cart(platform.router, client, auth)
    checkout_id = check_out(client, auth, address_id, payment_method="bank_transfer").get_json()["id"]
    settle(platform)
    waiting = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert waiting["payment_status"] == "pending" and waiting["payment_reference"].startswith("CPU-")
    assert waiting["payment_client_secret"] is None and fake.requests == []


# Without a Stripe key ----------------------------------------------------------------------

def test_the_embedded_default_takes_a_card_with_its_stand_in_and_says_so(client, platform, router):
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    started = check_out(client, auth, address_id)
    assert started.status_code == 202 and started.get_json()["payment_method"] == "card"
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{started.get_json()['id']}", headers=auth).get_json()
    assert done["state"] == "completed" and done["payment_status"] == "authorised"
    assert done["payment_reference"].startswith("stand-in card, nothing charged")


def test_offline_is_no_longer_a_payment_method(client, platform, router):
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    refused = check_out(client, auth, address_id, payment_method="offline")
    assert refused.status_code == 422 and "payment_method" in refused.get_json()["errors"]


def test_production_without_a_stripe_key_refuses_a_card_checkout_at_once(client, platform, router, monkeypatch):
    monkeypatch.setattr(platform, "settings", dataclasses.replace(platform.settings, env="production",
                                                                  standin_card=False))
    monkeypatch.delitem(platform.__dict__, "payments", raising=False)  # chosen again from these settings
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    refused = check_out(client, auth, address_id, payment_method="card")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "payment_method" in refused.get_json()["errors"] and "CPU_STRIPE_SECRET_KEY" in refused.get_json()["detail"]
    assert client.get("/api/v1/cart", headers=auth).get_json()["lines"], "the cart is kept"
    by_bank = check_out(client, auth, address_id, key="by-bank", payment_method="bank_transfer")
    assert by_bank.status_code == 202


def test_a_payment_stays_with_the_provider_that_began_it_when_stripe_is_configured_later(
        client, platform, router, monkeypatch):
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    checkout_id = check_out(client, auth, address_id).get_json()["id"]  # begun with the stand-in card
    with StripeServer() as server:
        stripe_settings = dataclasses.replace(platform.settings, stripe_secret_key="sk_test_later",
                                              stripe_api_base=server.url)
        monkeypatch.setattr(platform, "payments", PaymentProviders(
            card=StripeProvider(client_for(stripe_settings), router)))
        settle(platform)
        assert server.fake.requests == []  # neither payment nor capture went to Stripe
    done = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert done["state"] == "completed" and done["payment_reference"].startswith("stand-in card")
    assert orders_of(router, shop) == ["paid"]


def test_a_region_local_merchant_process_refunds_a_card_payment_made_in_the_buyers_region(card_app, database_config):
    """Production runs one process per region (CPU_REGION): Port of Spain's refunds a Kingston
    buyer's Stripe payment without opening Kingston's shard, where the checkout is."""
    app, fake = card_app
    client, platform = app.test_client(), app.extensions["cpu"]
    router = platform.router
    _, auth, address_id = buyer_with_address(client)  # a Kingston buyer
    shop = open_shop(router, client, "Port Cocoa", "TT")  # a Port of Spain merchant
    assert put(client, auth, shop, 3).status_code == 200
    checkout_id = check_out(client, auth, address_id).get_json()["id"]
    settle(platform)
    with router.unit_of_work("kin", read_only=True) as uow:
        intent_id = uow.session.get(Checkout, checkout_id).payment_reference
    deliver_webhook(client, fake, "payment_intent.amount_capturable_updated", fake.buyer_confirms(intent_id))
    settle(platform)
    assert orders_of(router, shop) == ["paid"]
    with router.unit_of_work(shop.region, read_only=True) as uow:
        order = uow.session.scalars(select(MerchantOrder).where(MerchantOrder.merchant_id == shop.merchant_id)).one()
    assert order.payment_provider == "stripe"  # told by the buyer's region with the payment

    with own_app(database_config, CPU_REGION="pos", CPU_STRIPE_SECRET_KEY="sk_test_card",
                 CPU_STRIPE_API_BASE=app.extensions["cpu"].settings.stripe_api_base,
                 CPU_STRIPE_WEBHOOK_SECRET=SECRET) as port_of_spain:
        local = port_of_spain.extensions["cpu"]
        moved = port_of_spain.test_client().put(f"/api/v1/merchant/orders/{order.id}/state", headers=shop.auth,
                                                json={"state": "cancelled"})
        assert moved.status_code == 200, moved.get_json()
        settle(local)
        settle(local)  # a redelivery pays nothing again
        with local.router.unit_of_work("pos", read_only=True) as uow:
            refund = uow.session.scalars(select(Refund)).one()
            assert (refund.state, refund.order_id) == ("refunded", order.id)
        assert local.router.served_regions == ("pos",)
    [refunded] = calls(fake, "/v1/refunds")
    assert refunded.idempotency_key == f"{refund.id}:refund" and refunded.params["payment_intent"] == intent_id
    assert refund.provider_reference == fake.objects[refund.provider_reference]["id"]
