"""The Stripe provider's flows against Stripe's own test mode, when STRIPE_SECRET_KEY (an
sk_test_ key) is set; skipped, saying why, otherwise. The buyer's app is played by confirming
the PaymentIntent with Stripe's test payment methods (pm_card_visa, pm_card_createDispute).
Transfers and the reversal need a connected account that finished onboarding (Stripe will not
transfer to one that has not): set STRIPE_CONNECTED_ACCOUNT to such a test account's acct_ id."""

from __future__ import annotations

import json
import os
import time

import pytest
from sqlalchemy import select

from marketplace.regions.ids import new_id
from payments.stripe.models import StripeAccount, StripeDispute
from payments.gateways import ProviderError
from tests.api.test_merchant_api import merchant
from tests.conftest import own_app
from tests.support.stripe_server import signed

KEY = os.environ.get("STRIPE_SECRET_KEY", "")
ACCOUNT = os.environ.get("STRIPE_CONNECTED_ACCOUNT", "")
SECRET = "whsec_live_test_local"
pytestmark = [
    pytest.mark.skipif(not KEY, reason="STRIPE_SECRET_KEY is not set: the Stripe test-mode flows did not run"),
    pytest.mark.skipif(bool(KEY) and not KEY.startswith("sk_test_"), reason="STRIPE_SECRET_KEY is not a test-mode key (sk_test_): refusing to run"),
]


@pytest.fixture
def live(sqlite_config):
    with own_app(sqlite_config, CPU_STRIPE_SECRET_KEY=KEY, CPU_STRIPE_WEBHOOK_SECRET=SECRET) as app:
        yield app


def app_confirms(provider, intent_id: str, payment_method: str) -> None:
    """What the buyer's app does with the client secret, done here with the test card."""
    provider.client.v1.payment_intents.confirm(intent_id, {"payment_method": payment_method,
                                                            "return_url": "https://example.com/return"})


def test_authorise_capture_and_refund_in_part_in_test_mode(live):
    provider = live.extensions["cpu"].stripe
    checkout = new_id("chk")
    made = provider.create_payment(key=checkout, amount=2500, currency="USD", method="card", transfer_group=checkout, region="sdq")
    assert made.status == "pending" and made.client_secret
    app_confirms(provider, made.reference, "pm_card_visa")
    assert provider.confirm(key=checkout).status == "authorised"
    provider.capture(key=checkout)
    refund = provider.refund(key=f"rfd_1_{checkout}", payment_key=checkout, payment_reference=made.reference,
                             amount=1000, currency="USD")
    assert (refund.amount, refund.currency) == (1000, "USD")
    with pytest.raises(ProviderError) as refused:
        provider.refund(key=f"rfd_2_{checkout}", payment_key=checkout, payment_reference=made.reference,
                        amount=1501, currency="USD")
    assert not refused.value.retryable


def test_a_void_cancels_the_authorisation_in_test_mode(live):
    provider = live.extensions["cpu"].stripe
    checkout = new_id("chk")
    made = provider.create_payment(key=checkout, amount=700, currency="EUR", method="card", transfer_group=checkout, region="fdf")
    app_confirms(provider, made.reference, "pm_card_visa")
    provider.void(key=checkout)
    assert provider.confirm(key=checkout).status == "declined"


@pytest.mark.skipif(not ACCOUNT, reason="STRIPE_CONNECTED_ACCOUNT is not set: no onboarded test account to transfer to")
def test_transfer_to_a_connected_account_and_reverse_it_in_test_mode(live):
    platform = live.extensions["cpu"]
    provider, router = platform.stripe, platform.router
    principal, _ = merchant(router, "San Juan Crafts", "PR")
    with router.unit_of_work(principal.region) as uow:
        uow.session.add(StripeAccount(merchant_id=principal.merchant_id, region=principal.region, account_id=ACCOUNT, country="US"))
        uow.commit()
    checkout = new_id("chk")
    made = provider.create_payment(key=checkout, amount=3000, currency="USD", method="card", transfer_group=checkout, region="sdq")
    app_confirms(provider, made.reference, "pm_card_bypassPending")  # funds available at once, to transfer from
    provider.capture(key=checkout)
    moved = provider.transfer(key=f"pay_{checkout}", destination=principal.merchant_id, amount=2700, currency="USD",
                              transfer_group=checkout)
    reversed_ = provider.reverse_transfer(key=f"rfd_{checkout}", transfer_reference=moved.reference, amount=900)
    assert (moved.amount, reversed_.amount) == (2700, 900)


def test_a_dispute_reaches_the_payments_region_in_test_mode(live):
    platform = live.extensions["cpu"]
    provider, client = platform.stripe, live.test_client()
    checkout = new_id("chk")
    made = provider.create_payment(key=checkout, amount=1800, currency="USD", method="card", transfer_group=checkout, region="sdq")
    app_confirms(provider, made.reference, "pm_card_createDispute")
    provider.capture(key=checkout)
    deadline, disputes = time.monotonic() + 60, []
    while not disputes and time.monotonic() < deadline:
        disputes = provider.client.v1.disputes.list({"payment_intent": made.reference}).data
        time.sleep(2)
    assert disputes, "Stripe made no dispute within a minute"
    # Stripe cannot reach this machine's webhook: its event is delivered as Stripe would sign it
    body = json.dumps({"id": f"evt_live_{checkout}", "object": "event", "type": "charge.dispute.created",
                       "created": int(time.time()), "data": {"object": disputes[0].to_dict()}}).encode()
    assert client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": signed(body, SECRET),
                                                               "Content-Type": "application/json"}).status_code == 200
    platform.relay().drain()
    with platform.router.unit_of_work("sdq", read_only=True) as uow:
        assert uow.session.scalars(select(StripeDispute.checkout_id)).all() == [checkout]
