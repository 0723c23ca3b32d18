"""The checkout saga when a part fails: a merchant out of stock, a payment declined, a process
killed between steps, a merchant region down past the checkout's deadline, and twenty
concurrent retries of one checkout. Afterwards no stock stays held, no order is left half-made,
and the buyer is told, merchant by merchant, what happened."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.errors import RegionUnavailable
from marketplace.events import deliveries
from marketplace.inventory.models import HELD, Reservation
from marketplace.orders.models import Checkout, MerchantOrder
from marketplace.regions.outbox import RelayPolicy
from payments.gateways import DecliningProvider, PaymentProviders
from tests.conftest import own_app
from tests.support.shop import available, buyer_with_address, check_out, open_shop, put, rows, settle


def shops(router, client, **fdf_stock):
    return (open_shop(router, client, "Kingston Roasters", "JM"), open_shop(router, client, "Fort Rhum", "MQ", **fdf_stock),
            open_shop(router, client, "Port Cocoa", "TT"))


def cart_of_three(client, auth, all_shops, quantity=12):
    for shop in all_shops:
        assert put(client, auth, shop, quantity).status_code == 200


def nothing_held(router) -> bool:
    return all(rows(router, Reservation, r, Reservation.status == HELD) == 0 for r in router.regions.region_codes)


def orders_in(router, shop):
    with router.unit_of_work(shop.region, read_only=True) as uow:
        return [o.state for o in uow.session.scalars(select(MerchantOrder).where(MerchantOrder.merchant_id == shop.merchant_id))]


def checkout_of(client, auth, checkout_id):
    return client.get(f"/api/v1/checkouts/{checkout_id}", headers=auth).get_json()


def legs_by_merchant(checkout):
    return {leg["merchant_id"]: leg for leg in checkout["legs"]}


def test_a_merchant_out_of_stock_cancels_the_other_merchants_orders(client, platform, router):
    kin, fdf, pos = shops(router, client, small=5)
    _, auth, address_id = buyer_with_address(client)
    cart_of_three(client, auth, (kin, fdf, pos))
    started = check_out(client, auth, address_id).get_json()
    settle(platform)

    done = checkout_of(client, auth, started["id"])
    assert done["state"] == "failed" and done["settled"]
    legs = legs_by_merchant(done)
    assert legs[fdf.merchant_id]["state"] == "rejected" and legs[fdf.merchant_id]["reason"] == "Out of stock."
    assert legs[fdf.merchant_id]["problems"] == {"lines.0": ["12 asked for, 5 available"]}
    for shop in (kin, pos):
        assert legs[shop.merchant_id]["state"] == "cancelled" and "did not go through" in legs[shop.merchant_id]["reason"]
        assert orders_in(router, shop) == ["cancelled"]
        assert available(router, shop) == (500, 0)
    assert orders_in(router, fdf) == [] and available(router, fdf) == (5, 0) and nothing_held(router)
    assert {o["state"] for o in client.get("/api/v1/orders", headers=auth).get_json()["items"]} == {"cancelled"}


def test_a_declined_payment_releases_the_stock_and_cancels_every_order(client, platform, router, monkeypatch):
    provider = DecliningProvider("insufficient funds")
    monkeypatch.setattr(platform, "payments", PaymentProviders.only(provider))
    all_shops = shops(router, client)
    _, auth, address_id = buyer_with_address(client)
    cart_of_three(client, auth, all_shops)
    started = check_out(client, auth, address_id).get_json()
    settle(platform)

    done = checkout_of(client, auth, started["id"])
    assert done["state"] == "failed" and "payment was declined: insufficient funds" in done["reason"]
    assert provider.created == [started["id"]] and provider.captured == []  # asked once, however often the events came
    for shop in all_shops:
        leg = legs_by_merchant(done)[shop.merchant_id]
        assert leg["state"] == "cancelled" and "declined (insufficient funds)" in leg["reason"]
        assert orders_in(router, shop) == ["cancelled"] and available(router, shop) == (500, 0)
    assert nothing_held(router)


def test_a_process_killed_between_saga_steps_is_finished_by_the_next(client, platform, router):
    kin, fdf, pos = shops(router, client)
    _, auth, address_id = buyer_with_address(client)
    cart_of_three(client, auth, (kin, fdf, pos))
    started = check_out(client, auth, address_id).get_json()

    # the first relay sends the order requests out of kin, then its process dies; in fdf a
    # consumer process claims the request and dies before applying it
    platform.relay().run_once(["kin"])
    doomed = deliveries.ConsumerRunner(router, platform.handlers, policy=RelayPolicy(lease=timedelta(seconds=1)),
                                       worker="doomed")
    assert [row.consumer for row in doomed._claim("fdf")] == ["orders.merchant"]
    assert checkout_of(client, auth, started["id"])["state"] == "requested"

    time.sleep(1.2)  # the dead consumer's lease runs out
    settle(platform)  # processes restarted: a new relay and new consumers
    done = checkout_of(client, auth, started["id"])
    assert done["state"] == "completed" and {leg["state"] for leg in done["legs"]} == {"confirmed"}
    for shop in (kin, fdf, pos):
        assert orders_in(router, shop) == ["paid"] and available(router, shop) == (500 - 12, 0)


def test_a_merchant_region_down_past_the_deadline_is_timed_out_and_the_rest_compensated(database_config, monkeypatch):
    with own_app(database_config, CPU_CHECKOUT_DEADLINE_SECONDS="4") as app:
        platform, router, client = app.extensions["cpu"], app.extensions["cpu"].router, app.test_client()
        kin, fdf, pos = shops(router, client)
        _, auth, address_id = buyer_with_address(client)
        cart_of_three(client, auth, (kin, fdf, pos))
        started = check_out(client, auth, address_id).get_json()

        real_check = router.health.check

        def fdf_down(region):
            if region == "fdf":
                raise RegionUnavailable("fdf", retry_after=5, reason="database stopped")
            return real_check(region)

        monkeypatch.setattr(router.health, "check", fdf_down)
        relay = platform.relay()
        relay.drain()
        assert checkout_of(client, auth, started["id"])["state"] == "requested"  # kin and pos answered, fdf cannot
        wait_until(started["deadline_at"])
        relay.drain()  # its passes run the chores: the deadline sweep, then the compensation

        done = checkout_of(client, auth, started["id"])
        legs = legs_by_merchant(done)
        assert done["state"] == "failed" and legs[fdf.merchant_id]["state"] == "timed_out"
        assert "did not answer before the checkout's deadline" in legs[fdf.merchant_id]["reason"]
        for shop in (kin, pos):
            assert legs[shop.merchant_id]["state"] == "cancelled"
            assert orders_in(router, shop) == ["cancelled"] and available(router, shop) == (500, 0)

        monkeypatch.setattr(router.health, "check", real_check)  # fdf is back: its late request is refused
        time.sleep(2.5)  # the outbox's backoff for the sends that failed
        relay.drain()
        assert orders_in(router, fdf) == [] and available(router, fdf) == (500, 0) and nothing_held(router)
        assert checkout_of(client, auth, started["id"])["state"] == "failed"


def wait_until(moment: str) -> None:
    time.sleep(max(0.0, (datetime.fromisoformat(moment) - datetime.now(timezone.utc)).total_seconds()) + 0.2)


def test_twenty_concurrent_retries_of_one_checkout_make_one(database_config, backend):
    if backend != "postgres":
        pytest.skip("SQLite takes one writer at a time: the race for the key is PostgreSQL's")
    # slots for all twenty at once: the race is for the key, not for this server's bulkhead
    with own_app(database_config, CPU_DB_POOL_SIZE="25") as app:
        platform, router, client = app.extensions["cpu"], app.extensions["cpu"].router, app.test_client()
        all_shops = shops(router, client)
        _, auth, address_id = buyer_with_address(client)
        cart_of_three(client, auth, all_shops)

        def attempt(_):
            response = check_out(app.test_client(), auth, address_id, key="one-key-twenty-times")
            return response.status_code, response.get_json().get("id", response.get_json())

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(attempt, range(20)))
        assert {status for status, _ in answers} == {202}, answers
        assert len({checkout_id for _, checkout_id in answers}) == 1
        assert rows(router, Checkout, "kin") == 1
        settle(platform)
        for shop in all_shops:
            assert orders_in(router, shop) == ["paid"] and available(router, shop) == (500 - 12, 0)
