"""The Stripe provider through the real `stripe` library, against a local server answering
Stripe's bodies (tests/support/stripe_server.py): a three-merchant checkout, capture, payouts by
Connect transfer, a partial refund after payout (with the merchant's transfer reversed), a
refund larger than what remains, and a dispute arriving by webhook."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from marketplace.merchants import accounts
from marketplace.regions.ids import new_id
from marketplace.regions.models import OutboxEvent
from payments import service
from payments.gateways import ProviderError
from payments.stripe.models import StripeAccount, StripeDispute, StripePayment
from tests.api.test_merchant_api import merchant
from tests.api.test_role_walk import signed_in
from tests.api.test_storefront_pages import PASSWORD
from tests.conftest import own_app
from tests.integration.test_ledger import order_of
from tests.support.stripe_server import StripeServer, event, signed

SECRET = "whsec_test_provider"
CONNECT_SECRET = "whsec_test_connect"  # the Connect endpoint's: connected accounts' events are signed with it


@pytest.fixture
def stripe_app(database_config):
    with StripeServer() as server, own_app(database_config, CPU_STRIPE_SECRET_KEY="sk_test_local",
                                           CPU_STRIPE_API_BASE=server.url, CPU_STRIPE_WEBHOOK_SECRET=SECRET,
                                           CPU_STRIPE_CONNECT_WEBHOOK_SECRET=CONNECT_SECRET) as app:
        app.stripe_server = server
        yield app


def onboard(client, auth, *, finished: bool = True) -> str:
    """A connected account for the merchant; `finished`: its owner completed Stripe's onboarding
    and Stripe, having verified it, says so by `account.updated` (payouts enabled)."""
    answer = client.post("/api/v1/merchant/payouts/stripe-onboarding", json={}, headers=auth)
    assert answer.status_code == 201, answer.get_json()
    link = answer.get_json()
    assert link["url"].startswith("https://connect.stripe.com/") and link["account_id"].startswith("acct_")
    if finished:
        tell(client, event(client.application.stripe_server.fake, "account.updated",
                           client.application.stripe_server.fake.account_onboarded(link["account_id"])))
    return link["account_id"]


def tell(client, sent: dict, *, secret: str = CONNECT_SECRET) -> dict:
    """Stripe delivers the webhook event `sent` (a connected account's, by default), signed by
    its endpoint's secret; the relay applies it. The app's answer."""
    body = json.dumps(sent).encode()
    answer = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": signed(body, secret),
                                                                 "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.get_json()
    client.application.extensions["cpu"].relay().drain()
    return answer.get_json()


def test_a_three_merchant_checkout_is_authorised_captured_paid_out_refunded_and_disputed(stripe_app):
    platform, fake, client = stripe_app.extensions["cpu"], stripe_app.stripe_server.fake, stripe_app.test_client()
    provider, router = platform.stripe, platform.router
    shops = [merchant(router, "San Juan Crafts", "PR"), merchant(router, "Fort Rhum", "MQ"), merchant(router, "Basse Terre Tea", "GP")]
    accounts = [onboard(client, auth) for _, auth in shops]
    assert onboard(client, shops[0][1]) == accounts[0]  # a second link, the same connected account
    assert [fake.objects[a]["country"] for a in accounts] == ["US", "FR", "FR"]
    rail = client.get("/api/v1/merchant/payouts/rail", headers=shops[1][1]).get_json()
    assert rail == {"rail": "stripe_connect", "country": "MQ", "stripe_account_id": accounts[1], "why": None,
                    "description": rail["description"],
                    "by_payment": [{"paid_through": "stripe", "rail": "stripe_connect"},
                                   {"paid_through": "other", "rail": "bank_transfer"}],
                    "stripe_account": {"payouts_enabled": True, "charges_enabled": True, "details_submitted": True,
                                       "requirements_due": []}}

    checkout = new_id("chk")
    first = provider.create_payment(key=checkout, amount=10_001, currency="USD", method="card", transfer_group=checkout, region="sdq")
    again = provider.create_payment(key=checkout, amount=10_001, currency="USD", method="card", transfer_group=checkout, region="sdq")
    assert first.status == "pending" and first.client_secret and again.reference == first.reference
    intent = fake.objects[first.reference]
    assert (intent["capture_method"], intent["currency"], intent["transfer_group"]) == ("manual", "usd", checkout)
    assert intent["metadata"] == {"checkout_id": checkout, "region": "sdq", "method": "card"}
    assert sum(o["object"] == "payment_intent" for o in fake.objects.values()) == 1  # the retry made nothing

    fake.buyer_confirms(first.reference)
    confirmed = provider.confirm(key=checkout)
    assert (confirmed.status, confirmed.client_secret) == ("authorised", None)
    provider.capture(key=checkout)
    provider.capture(key=checkout)  # a retried capture: Stripe answers the first again
    assert fake.objects[first.reference]["status"] == "succeeded"
    with router.unit_of_work("sdq", read_only=True) as uow:
        assert uow.session.get(StripePayment, checkout).status == "succeeded"

    # one transfer per merchant order, net of the marketplace's fee (the ledger's figures)
    nets = [4500, 2700, 1801]
    moves = [provider.transfer(key=f"pay_{n}_{checkout}", destination=principal.merchant_id, amount=net, currency="USD",
                               transfer_group=checkout) for n, ((principal, _), net) in enumerate(zip(shops, nets))]
    transfers = [fake.objects[m.reference] for m in moves]
    assert [(t["destination"], t["amount"], t["transfer_group"]) for t in transfers] == \
        [(a, net, checkout) for a, net in zip(accounts, nets)]

    # a partial refund of the second merchant's order after its payout: refund, then reversal
    refund = provider.refund(key=f"rfd_1_{checkout}", payment_key=checkout, payment_reference=first.reference,
                             amount=3000, currency="USD")
    reversal = provider.reverse_transfer(key=f"rfd_1_{checkout}", transfer_reference=moves[1].reference, amount=2700)
    assert (refund.amount, refund.currency, reversal.amount) == (3000, "USD", 2700)
    assert fake.objects[moves[1].reference]["reversed"] is True and fake.objects[moves[0].reference]["amount_reversed"] == 0
    with pytest.raises(ProviderError) as too_much:
        provider.refund(key=f"rfd_2_{checkout}", payment_key=checkout, payment_reference=first.reference,
                        amount=7002, currency="USD")
    assert not too_much.value.retryable and "greater than" in str(too_much.value)
    with pytest.raises(ProviderError):
        provider.refund(key=f"rfd_3_{checkout}", payment_key=checkout, payment_reference=first.reference,
                        amount=1, currency="EUR")
    mutating = [r for r in fake.requests if r.method == "POST"]
    assert all(r.idempotency_key for r in mutating) and len(mutating) > 10

    # the buyer's bank disputes the charge: recorded in the buyer's region, the ledger told
    body = json.dumps(event(fake, "charge.dispute.created", fake.dispute(first.reference, amount=7001))).encode()
    answer = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": signed(body, SECRET),
                                                                 "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.get_json()
    platform.relay().drain()
    with router.unit_of_work("sdq", read_only=True) as uow:
        dispute = uow.session.scalars(select(StripeDispute)).one()
        opened = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "payments.dispute_opened")).one()
    assert (dispute.checkout_id, dispute.amount, dispute.currency) == (checkout, 7001, "USD")
    assert opened.payload == {"checkout_id": checkout, "merchant_id": None, "amount": 7001, "currency": "USD",
                              "to_region": "sdq", "dispute_id": dispute.id}


def test_a_merchant_outside_stripes_countries_is_paid_by_bank_transfer(stripe_app):
    client, router = stripe_app.test_client(), stripe_app.extensions["cpu"].router
    _, auth = merchant(router, "Kingston Roasters", "JM")
    assert client.get("/api/v1/merchant/payouts/rail", headers=auth).get_json()["rail"] == "bank_transfer"
    refused = client.post("/api/v1/merchant/payouts/stripe-onboarding", json={}, headers=auth)
    assert refused.status_code == 409 and "JM" in refused.get_json()["detail"]
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.scalars(select(StripeAccount)).all() == []
    assert stripe_app.stripe_server.fake.requests == []


def test_a_void_cancels_the_authorisation_once_and_an_unknown_checkout_has_nothing_to_void(stripe_app):
    platform, fake = stripe_app.extensions["cpu"], stripe_app.stripe_server.fake
    checkout = new_id("chk")
    made = platform.stripe.create_payment(key=checkout, amount=500, currency="EUR", method="card",
                                          transfer_group=checkout, region="fdf")
    fake.buyer_confirms(made.reference)
    platform.stripe.void(key=checkout)
    platform.stripe.void(key=checkout)
    platform.stripe.void(key=new_id("chk"))
    assert fake.objects[made.reference]["status"] == "canceled"
    assert [r.path for r in fake.requests if r.path.endswith("/cancel")] == [f"/v1/payment_intents/{made.reference}/cancel"]
    assert platform.stripe.confirm(key=checkout).status == "declined"


def test_a_payout_run_pays_an_onboarded_merchant_by_connect_and_one_not_yet_onboarded_by_the_bank_file(stripe_app,
                                                                                                      tmp_path):
    """The rail the merchant is shown is the rail its payout takes: Martinique is a country
    Stripe reaches, so an onboarded merchant there gets a Connect transfer; its neighbour who has
    not onboarded yet is paid by the bank file rather than a transfer Stripe would refuse."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    (onboarded, onboarded_auth), (waiting, waiting_auth) = merchant(router, "Fort Rhum", "MQ"), merchant(router, "Anse Cacao", "MQ")
    account = onboard(client, onboarded_auth)
    assert client.get("/api/v1/merchant/payouts/rail", headers=onboarded_auth).get_json()["rail"] == "stripe_connect"
    assert client.get("/api/v1/merchant/payouts/rail", headers=waiting_auth).get_json()["rail"] == "bank_transfer"
    accounts.add_staff(router=router, principal=onboarded, email="clerk@fort-rhum.example", password=PASSWORD)
    seen_by_staff = signed_in(stripe_app, "clerk@fort-rhum.example").get("/api/v1/merchant/payouts/rail").get_json()
    assert (seen_by_staff["rail"], seen_by_staff["stripe_account_id"]) == ("stripe_connect", None)  # the owner's to see
    with router.unit_of_work("fdf") as uow:
        for principal in (onboarded, waiting):
            order = order_of(uow.session, principal.merchant_id, goods=10_000, shipping=0)
            service.capture(uow.session, order=order, paid=None, method="card", provider="stripe")
            service.release(uow.session, order_id=order.id, merchant_id=principal.merchant_id, why="delivered")
        uow.commit()
    for auth, rail in ((onboarded_auth, "stripe_connect"), (waiting_auth, "bank_transfer")):
        assert client.get("/api/v1/merchant/balance", headers=auth).get_json()["rail"] == rail

    bank_file = tmp_path / "payouts.csv"
    ran = stripe_app.test_cli_runner().invoke(args=["cpu", "payments", "payouts", "--bank-file", str(bank_file)])
    assert ran.exit_code == 0, ran.output
    transfers = [o for o in fake.objects.values() if o["object"] == "transfer"]
    assert [(t["destination"], t["amount"], t["currency"]) for t in transfers] == [(account, 9_200, "eur")]
    assert [line.split(",")[1] for line in bank_file.read_text().splitlines()[1:]] == [waiting.merchant_id]
