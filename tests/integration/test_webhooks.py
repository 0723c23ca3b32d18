"""Merchant webhooks end to end: registered through the API, an order event published on the
merchant's shard, fanned out and sent by the relay to a real HTTP receiver, signed, retried
with backoff on the database clock, given up after 24 hours, and logged for the merchant."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.regions.base import database_now
from marketplace.webhooks import signing
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.api.test_merchant_api import merchant
from tests.api.test_storefront_pages import PASSWORD, post_form
from tests.support.webhooks import order_event, publish, receiver


@pytest.fixture
def shop(router):
    return merchant(router, "Hook Roasters", "JM")


def register(client, auth, url, events=("orders.created",)):
    response = client.post("/api/v1/merchant/webhooks", json={"url": url, "events": list(events)}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, auth, hook):
    response = client.get(f"/api/v1/merchant/webhooks/{hook['id']}/deliveries", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def make_due(router, region, *, created_ago: timedelta | None = None):
    """What waiting would do: the pending deliveries' next attempt is now (by the database's clock)."""
    with router.unit_of_work(region) as uow:
        now = database_now(uow.session)
        values = {"next_attempt_at": now - timedelta(seconds=1)}
        if created_ago is not None:
            values["created_at"] = now - created_ago
        uow.session.execute(update(WebhookDelivery).where(WebhookDelivery.state == "pending").values(**values))
        uow.commit()


def pending_gap(router, region) -> float:
    """Seconds from now (database clock) to the one pending delivery's next attempt."""
    with router.unit_of_work(region, read_only=True) as uow:
        row = uow.session.scalars(select(WebhookDelivery).where(WebhookDelivery.state == "pending")).one()
        return (row.next_attempt_at - database_now(uow.session)).total_seconds()


def test_an_order_event_is_delivered_signed_once_and_logged(client, router, platform, shop):
    principal, auth = shop
    with receiver(200) as hooks:
        hook = register(client, auth, hooks.url, events=["orders.created", "orders.cancelled"])
        assert hook["secret"].startswith("whsec_")
        event_id = publish(router, principal.region, "orders.created", order_event(principal))
        publish(router, principal.region, "orders.paid", order_event(principal, state="paid"))  # not asked for
        platform.relay().drain()
        platform.relay().drain()  # a second pass sends nothing again

    assert len(hooks.received) == 1
    sent = hooks.received[0]
    assert sent.path == "/hooks/cpu" and sent.headers["content-type"] == "application/json"
    assert signing.verify(hook["secret"], sent.headers["cpu-signature"], sent.body)
    assert not signing.verify("whsec_wrong", sent.headers["cpu-signature"], sent.body)
    assert not signing.verify(hook["secret"], sent.headers["cpu-signature"], sent.body.replace(b"9000", b"1"))
    body = json.loads(sent.body)
    assert body["id"] == event_id == sent.headers["cpu-event-id"] and body["type"] == "orders.created"
    assert body["data"]["order_id"] == "ord_01M8A0000000000000000000AB" and body["data"]["total"]["amount_minor"] == 9000
    assert "buyer_email_digest" not in body["data"]

    [logged] = deliveries(client, auth, hook)
    assert logged["state"] == "delivered" and logged["event_id"] == event_id
    assert [a["status_code"] for a in logged["attempts"]] == [200] and logged["attempts"][0]["latency_ms"] >= 0


def test_the_secret_is_shown_once_and_stored_sealed(client, router, shop):
    principal, auth = shop
    hook = register(client, auth, "http://127.0.0.1:9/hook")
    listed = client.get("/api/v1/merchant/webhooks", headers=auth).get_json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    assert hook["secret"] not in json.dumps(listed)
    with router.unit_of_work(principal.region, read_only=True) as uow:
        sealed = uow.session.get(WebhookEndpoint, hook["id"]).sealed_secret
    assert hook["secret"] not in sealed and hook["secret"].removeprefix("whsec_") not in sealed


def test_a_failing_endpoint_is_retried_with_growing_backoff_until_it_answers(client, router, platform, shop):
    principal, auth = shop
    with receiver(500, 500, 200) as hooks:
        hook = register(client, auth, hooks.url)
        publish(router, principal.region, "orders.created", order_event(principal))
        platform.relay().drain()
        assert len(hooks.received) == 1
        first_gap = pending_gap(router, principal.region)
        assert 14 <= first_gap <= 31  # 30 s, with jitter between half and all of it

        platform.relay().drain()
        assert len(hooks.received) == 1  # not due yet: nothing is sent before its time

        make_due(router, principal.region)
        platform.relay().drain()
        assert len(hooks.received) == 2
        assert 29 <= pending_gap(router, principal.region) <= 61  # doubled

        make_due(router, principal.region)
        platform.relay().drain()
    assert len(hooks.received) == 3
    assert hooks.received[0].body == hooks.received[2].body  # the same event, the same bytes
    [logged] = deliveries(client, auth, hook)
    assert logged["state"] == "delivered"
    assert [a["status_code"] for a in logged["attempts"]] == [500, 500, 200]


def test_a_delivery_failing_for_24_hours_is_given_up(client, router, platform, shop, caplog):
    principal, auth = shop
    with receiver(503) as hooks:
        hook = register(client, auth, hooks.url)
        publish(router, principal.region, "orders.created", order_event(principal))
        with caplog.at_level(logging.INFO):
            platform.relay().drain()
            make_due(router, principal.region, created_ago=timedelta(hours=24, minutes=1))
            platform.relay().drain()
            make_due(router, principal.region)  # nothing pending is left to make due
            platform.relay().drain()
    assert len(hooks.received) == 2
    [logged] = deliveries(client, auth, hook)
    assert logged["state"] == "given_up" and logged["next_attempt_at"] is None
    assert [a["status_code"] for a in logged["attempts"]] == [503, 503]
    assert hook["secret"] not in caplog.text and hook["secret"].removeprefix("whsec_") not in caplog.text


def test_an_endpoint_that_does_not_answer_is_logged_with_the_error(client, router, platform, shop):
    principal, auth = shop
    with receiver() as gone:
        url = gone.url  # a port nobody listens on once the block ends
    hook = register(client, auth, url)
    publish(router, principal.region, "orders.created", order_event(principal))
    platform.relay().drain()
    [logged] = deliveries(client, auth, hook)
    assert logged["state"] == "pending"
    [attempt] = logged["attempts"]
    assert attempt["status_code"] is None and "refused" in attempt["error"].lower()


def test_a_deleted_webhook_is_sent_nothing_more(client, router, platform, shop):
    principal, auth = shop
    with receiver(500) as hooks:
        hook = register(client, auth, hooks.url)
        publish(router, principal.region, "orders.created", order_event(principal))
        platform.relay().drain()
        assert client.delete(f"/api/v1/merchant/webhooks/{hook['id']}", headers=auth).status_code == 204
        make_due(router, principal.region)
        publish(router, principal.region, "orders.created", order_event(principal, order_id="ord_01M8A0000000000000000000AC"))
        platform.relay().drain()
    assert len(hooks.received) == 1
    assert client.get("/api/v1/merchant/webhooks", headers=auth).get_json() == []
    [logged] = deliveries(client, auth, hook)  # the log stays readable
    assert logged["state"] == "given_up" and logged["attempts"][-1]["error"] == "the webhook was deleted"


@pytest.mark.parametrize("url, says", [
    ("http://10.0.0.7/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"),
    ("http://192.168.1.1/", "private"),
    ("ftp://127.0.0.1/hook", "https://"),
    ("http://user:pw@127.0.0.1/hook", "password"),
])
def test_urls_webhooks_are_not_sent_to_are_refused(client, shop, url, says):
    _, auth = shop
    response = client.post("/api/v1/merchant/webhooks", json={"url": url, "events": ["orders.created"]}, headers=auth)
    assert response.status_code == 422 and says in json.dumps(response.get_json())
    assert client.get("/api/v1/merchant/webhooks", headers=auth).get_json() == []


def test_unknown_events_are_refused(client, shop):
    _, auth = shop
    response = client.post("/api/v1/merchant/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["orders.eaten"]},
                           headers=auth)
    assert response.status_code == 422


def test_the_dashboard_shows_each_webhooks_deliveries(app, client, router, platform, shop):
    principal, auth = shop
    with receiver(500, 200) as hooks:
        register(client, auth, hooks.url)
        publish(router, principal.region, "orders.created", order_event(principal))
        platform.relay().drain()
    owner = app.test_client()
    assert post_form(owner, "/dashboard/signin", {"email": "owner@hook-roasters.example", "password": PASSWORD}).status_code == 303
    page = owner.get("/dashboard/webhooks")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert hooks.url in text and "orders.created" in text and "retrying" in text and "500" in text


def test_a_merchant_has_at_most_ten_webhooks(client, shop):
    _, auth = shop
    for n in range(10):
        register(client, auth, f"http://127.0.0.1:9/hook/{n}")
    response = client.post("/api/v1/merchant/webhooks", json={"url": "http://127.0.0.1:9/more", "events": ["orders.paid"]},
                           headers=auth)
    assert response.status_code == 409
    assert len(client.get("/api/v1/merchant/webhooks", headers=auth).get_json()) == 10
