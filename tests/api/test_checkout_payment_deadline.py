"""A checkout's payment deadline (marketplace/orders/policy.toml): a card payment the buyer
never confirms does not hold the checkout for ever. Past the deadline (the buyer region's
database clock, moved past it here instead of waiting ten minutes) the relays' sweep cancels
every leg, gives the stock back and voids the PaymentIntent once, keyed by the checkout; a
confirmation or a success that comes later takes no money (cancelled, or refunded in full),
and the checkout says why. A checkout paid in time is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from marketplace.config import Settings
from marketplace.orders import saga
from marketplace.orders.models import Checkout
from marketplace.regions.base import database_now
from tests.api.test_card_checkout import (calls, card_app, deliver_webhook, orders_of, postings_of,  # noqa: F401
                                          stripe_setup, two_merchant_cart)
from tests.support.shop import available, buyer_with_address, check_out, open_shop, put, settle

CARD_SECONDS = saga.policy()["payment_deadline_seconds"]["card"]


def paying_checkout(app):
    """A two-merchant card checkout whose PaymentIntent waits for the buyer's app."""
    client, platform = app.test_client(), app.extensions["cpu"]
    _, auth, address_id = buyer_with_address(client)
    shops = two_merchant_cart(platform.router, client, auth)
    checkout_id = check_out(client, auth, address_id).get_json()["id"]
    settle(platform)
    waiting = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert (waiting["state"], waiting["payment_status"]) == ("paying", "pending")
    return client, platform, auth, shops, waiting


def deadline_passes(router, checkout_id: str) -> None:
    """The buyer region's clock goes past the payment deadline (the deadline moves instead)."""
    with router.unit_of_work("kin") as uow:
        uow.session.get(Checkout, checkout_id).payment_deadline_at = database_now(uow.session) - timedelta(seconds=1)
        uow.commit()


def test_a_card_payment_not_made_by_its_deadline_cancels_the_checkout_and_voids_the_intent_once(card_app):
    app, fake = card_app
    client, platform, auth, shops, waiting = paying_checkout(app)
    checkout_id, router = waiting["id"], platform.router
    given = datetime.fromisoformat(waiting["payment_deadline_at"]) - datetime.fromisoformat(waiting["created_at"])
    assert timedelta(seconds=CARD_SECONDS) <= given < timedelta(seconds=CARD_SECONDS + 30)  # from when payment was asked
    assert saga.sweep_deadlines(router, "kin") == 0  # not yet
    assert all(available(router, shop) == (500, 3) for shop in shops)

    deadline_passes(router, checkout_id)
    settle(platform)  # the relay's pass runs the sweep, then the compensation and the void
    settle(platform)  # a second pass does nothing again
    done = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert done["state"] == "failed" and done["settled"]
    assert "not made before the checkout's payment deadline" in done["reason"]
    assert done["payment_client_secret"] is None  # nothing left for the app to confirm
    for leg in done["legs"]:
        assert leg["state"] == "cancelled" and "payment deadline" in leg["reason"]
    for shop in shops:
        assert orders_of(router, shop) == ["cancelled"] and available(router, shop) == (500, 0)
        assert postings_of(router, shop) == []
    [void] = calls(fake, "/cancel")
    assert void.idempotency_key == f"{checkout_id}:void" and void.path.endswith(f"{done['payment_reference']}/cancel")
    assert fake.objects[done["payment_reference"]]["status"] == "canceled" and calls(fake, "/capture") == []


def test_a_confirmation_whose_webhook_comes_after_the_deadline_authorises_nothing(card_app):
    app, fake = card_app
    client, platform, auth, shops, waiting = paying_checkout(app)
    confirmed = fake.buyer_confirms(waiting["payment_reference"])  # just in time, but Stripe's news is late
    deadline_passes(platform.router, waiting["id"])
    settle(platform)
    deliver_webhook(client, fake, "payment_intent.amount_capturable_updated", confirmed)
    settle(platform)

    done = client.get(f"/api/v1/checkouts/{waiting['id']}", headers=auth).get_json()
    assert done["state"] == "failed" and "payment deadline" in done["reason"]
    assert fake.objects[waiting["payment_reference"]]["status"] == "canceled"  # the authorisation released
    assert len(calls(fake, "/cancel")) == 1 and calls(fake, "/capture") == []
    for shop in shops:
        assert orders_of(platform.router, shop) == ["cancelled"] and available(platform.router, shop) == (500, 0)


def test_a_payment_that_succeeds_after_its_checkout_was_cancelled_is_refunded_in_full(card_app):
    app, fake = card_app
    client, platform, auth, shops, waiting = paying_checkout(app)
    intent_id = waiting["payment_reference"]
    deadline_passes(platform.router, waiting["id"])
    settle(platform)
    assert len(calls(fake, "/cancel")) == 1

    # Stripe's word wins over ours: it reports the payment taken after all (a capture that won
    # the race with our cancel), and its webhook says so
    intent = fake.objects[intent_id]
    intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=fake.new_id("ch"))
    deliver_webhook(client, fake, "payment_intent.succeeded", intent)
    settle(platform)
    settle(platform)

    done = client.get(f"/api/v1/checkouts/{waiting['id']}", headers=auth).get_json()
    assert done["state"] == "failed" and "payment deadline" in done["reason"]
    assert "came after the checkout had failed: it is given back" in done["reason"]
    [refund] = calls(fake, "/v1/refunds")
    assert refund.idempotency_key == f"{waiting['id']}:refund" and refund.params["payment_intent"] == intent_id
    given_back = sum(o["amount"] for o in fake.objects.values() if o["object"] == "refund" and o["payment_intent"] == intent_id)
    assert given_back == intent["amount_received"] == waiting["total_amount"]  # nothing kept
    assert calls(fake, "/capture") == []
    for shop in shops:  # the ledger never booked the payment: nothing to balance out
        assert orders_of(platform.router, shop) == ["cancelled"] and postings_of(platform.router, shop) == []
        assert available(platform.router, shop) == (500, 0)


def test_a_checkout_paid_before_its_deadline_is_left_alone_by_the_sweep(card_app):
    app, fake = card_app
    client, platform, auth, shops, waiting = paying_checkout(app)
    deliver_webhook(client, fake, "payment_intent.amount_capturable_updated", fake.buyer_confirms(waiting["payment_reference"]))
    settle(platform)
    deadline_passes(platform.router, waiting["id"])  # the deadline passes after it was paid
    assert saga.sweep_deadlines(platform.router, "kin") == 0
    settle(platform)

    done = client.get(f"/api/v1/checkouts/{waiting['id']}", headers=auth).get_json()
    assert (done["state"], done["reason"]) == ("completed", None)
    assert calls(fake, "/cancel") == [] and len(calls(fake, "/capture")) == 1
    for shop in shops:
        assert orders_of(platform.router, shop) == ["paid"] and available(platform.router, shop) == (497, 0)


def test_a_bank_transfer_has_no_payment_deadline(client, platform, router):
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    checkout_id = check_out(client, auth, address_id, payment_method="bank_transfer").get_json()["id"]
    settle(platform)
    waiting = client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()
    assert (waiting["state"], waiting["payment_deadline_at"]) == ("paying", None)  # a transfer takes days


def test_a_card_paid_by_its_deadline_still_finds_its_stock_held():
    defaults = Settings.__dataclass_fields__
    assert defaults["checkout_deadline_seconds"].default + CARD_SECONDS < defaults["stock_hold_seconds"].default
