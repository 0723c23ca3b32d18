"""POST /webhooks/stripe with real signatures (the library's own signing): a valid event is
recorded once and handed to the payment's region; a tampered body, a wrong secret or a stale
timestamp is refused before anything is read or written; a duplicate is a 200 no-op; events out
of order never move a payment backwards, and the saga hears each change of outcome once."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from marketplace.regions.ids import new_id
from marketplace.regions.models import OutboxEvent
from payments.stripe.models import StripeEvent, StripePayment
from tests.conftest import own_app
from tests.support.stripe_server import FakeStripe, event, signed

SECRET = "whsec_test_webhooks"


@pytest.fixture(scope="module")
def hook_app(database_config):
    with own_app(database_config, CPU_STRIPE_SECRET_KEY="sk_test_local", CPU_STRIPE_API_BASE="http://127.0.0.1:9",
                 CPU_STRIPE_WEBHOOK_SECRET=SECRET) as app:
        yield app


@pytest.fixture
def hook(hook_app):
    yield hook_app
    from tests.support import databases

    databases.wipe(hook_app.extensions["cpu"].router)


def intent_event(fake, type_, status, *, checkout, created, region="bgi", intent_id="pi_test_1", **extra):
    intent = {"id": intent_id, "object": "payment_intent", "amount": 2599, "currency": "xcd", "status": status,
              "metadata": {"checkout_id": checkout, "region": region}, "last_payment_error": None, **extra}
    return event(fake, type_, intent, created=created)


def post(client, body: bytes, header: str | None):
    headers = {"Content-Type": "application/json", **({"Stripe-Signature": header} if header else {})}
    return client.post("/webhooks/stripe", data=body, headers=headers)


def count(router, region, model, *where) -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def updates(router, region="bgi") -> list[dict]:
    with router.unit_of_work(region, read_only=True) as uow:
        return [e.payload for e in uow.session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "payments.intent_updated").order_by(OutboxEvent.id))]


def test_a_signed_event_is_recorded_once_and_applied_in_the_payments_region(hook):
    client, platform = hook.test_client(), hook.extensions["cpu"]
    checkout = new_id("chk")
    body = json.dumps(intent_event(FakeStripe(), "payment_intent.amount_capturable_updated", "requires_capture",
                                   checkout=checkout, created=int(time.time()))).encode()
    answer = post(client, body, signed(body, SECRET))
    assert answer.status_code == 200 and answer.get_json() == {"received": True, "duplicate": False}
    replay = post(client, body, signed(body, SECRET))
    assert replay.status_code == 200 and replay.get_json()["duplicate"] is True
    platform.relay().drain()
    assert count(platform.router, "kin", StripeEvent) == 1  # received in the first region, applied in bgi
    with platform.router.unit_of_work("bgi", read_only=True) as uow:
        payment = uow.session.get(StripePayment, checkout)
    assert (payment.status, payment.amount, payment.currency) == ("requires_capture", 2599, "XCD")
    assert updates(platform.router) == [{"checkout_id": checkout, "to_region": "bgi", "status": "authorised",
                                         "reference": "pi_test_1", "reason": None}]


@pytest.mark.parametrize("spoil", ["tampered body", "wrong secret", "stale timestamp", "no header", "not a signature"])
def test_an_unverified_request_is_refused_and_leaves_nothing(hook, spoil):
    client, router = hook.test_client(), hook.extensions["cpu"].router
    body = json.dumps(intent_event(FakeStripe(), "payment_intent.succeeded", "succeeded", checkout=new_id("chk"),
                                   created=int(time.time()))).encode()
    header = {
        "tampered body": signed(body, SECRET),
        "wrong secret": signed(body, "whsec_someone_else"),
        "stale timestamp": signed(body, SECRET, timestamp=int(time.time()) - 301),
        "no header": None,
        "not a signature": "v1=abc",
    }[spoil]
    if spoil == "tampered body":
        body = body.replace(b'"amount": 2599', b'"amount": 1')
    answer = post(client, body, header)
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert "Stripe-Signature" in answer.get_json()["detail"]
    assert count(router, "kin", StripeEvent) == 0 and count(router, "kin", OutboxEvent) == 0


def test_a_timestamp_just_inside_the_tolerance_is_accepted(hook):
    body = json.dumps(intent_event(FakeStripe(), "payment_intent.processing", "processing", checkout=new_id("chk"),
                                   created=int(time.time()))).encode()
    assert post(hook.test_client(), body, signed(body, SECRET, timestamp=int(time.time()) - 290)).status_code == 200


def test_events_out_of_order_never_move_a_payment_backwards(hook):
    client, platform = hook.test_client(), hook.extensions["cpu"]
    fake, checkout, now = FakeStripe(), new_id("chk"), int(time.time())
    sequence = [  # as they arrive; `created` is when Stripe made each
        intent_event(fake, "payment_intent.succeeded", "succeeded", checkout=checkout, created=now + 20),
        intent_event(fake, "payment_intent.processing", "processing", checkout=checkout, created=now + 5),
        intent_event(fake, "payment_intent.amount_capturable_updated", "requires_capture", checkout=checkout, created=now + 10),
        intent_event(fake, "payment_intent.payment_failed", "requires_payment_method", checkout=checkout, created=now,
                     last_payment_error={"message": "Your card was declined."}),
    ]
    for item in sequence:
        body = json.dumps(item).encode()
        assert post(client, body, signed(body, SECRET)).status_code == 200
        platform.relay().drain()
    with platform.router.unit_of_work("bgi", read_only=True) as uow:
        assert uow.session.get(StripePayment, checkout).status == "succeeded"
    assert [u["status"] for u in updates(platform.router)] == ["authorised"]


def test_a_failure_after_processing_declines_and_a_retry_that_succeeds_authorises(hook):
    client, platform = hook.test_client(), hook.extensions["cpu"]
    fake, checkout, now = FakeStripe(), new_id("chk"), int(time.time())
    for item in [
        intent_event(fake, "payment_intent.processing", "processing", checkout=checkout, created=now),
        intent_event(fake, "payment_intent.payment_failed", "requires_payment_method", checkout=checkout, created=now + 1,
                     last_payment_error={"message": "Your card was declined."}),
        intent_event(fake, "payment_intent.amount_capturable_updated", "requires_capture", checkout=checkout, created=now + 9),
    ]:
        body = json.dumps(item).encode()
        post(client, body, signed(body, SECRET))
        platform.relay().drain()
    assert [(u["status"], u["reason"]) for u in updates(platform.router)] == [
        ("declined", "Your card was declined."), ("authorised", None)]


def test_an_event_of_no_concern_is_acknowledged_and_recorded(hook):
    client, router = hook.test_client(), hook.extensions["cpu"].router
    body = json.dumps(event(FakeStripe(), "customer.created", {"id": "cus_1", "object": "customer"})).encode()
    assert post(client, body, signed(body, SECRET)).status_code == 200
    assert count(router, "kin", StripeEvent) == 1 and count(router, "kin", OutboxEvent) == 0


def test_without_a_webhook_secret_the_endpoint_is_not_there(client):
    body = b"{}"
    assert post(client, body, signed(body, SECRET)).status_code == 404
