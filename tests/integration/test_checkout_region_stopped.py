"""A checkout whose merchant region's database really stops in the middle (`pg_ctl stop -m
immediate` on fdf's own PostgreSQL server, as a power cut), after the order requests have reached
fdf and before fdf answered. The monkeypatched version of this fault lives in
tests/api/test_checkout_faults.py; this one lets the real driver, pool and breaker meet a dead
server. Two endings: fdf stays down past the checkout's deadline (the buyer is told fdf timed
out, the other merchants' orders are cancelled and their stock released), or fdf comes back in
time (the checkout completes as if nothing happened). Either way no reservation is left held and
no order is orphaned, once fdf is back."""

from __future__ import annotations

import time

import psycopg
import pytest

from marketplace.errors import RegionUnavailable
from marketplace.inventory.models import HELD, Reservation
from marketplace.regions.models import ConsumerDelivery, OutboxEvent
from tests.api.test_checkout_faults import cart_of_three, checkout_of, legs_by_merchant, orders_in, shops, wait_until
from tests.conftest import own_app
from tests.support import databases
from tests.support.pgcluster import private_cluster, wait_until_answering
from tests.support.shop import available, buyer_with_address, check_out, rows

DEADLINE_SECONDS = "6"


@pytest.fixture
def fdf_on_its_own_server(postgres_config):
    """The session's PostgreSQL databases, but fdf's shard on a private server the test can stop."""
    with private_cluster("fdf") as cluster:
        with psycopg.connect(cluster.admin_url, autocommit=True) as admin:
            admin.execute('CREATE DATABASE "cpu_fdf"')
        config = {**postgres_config, "CPU_DATABASE_URL_FDF": f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/cpu_fdf"}
        databases.migrate(config)
        yield cluster, config


def held_anywhere(router) -> int:
    return sum(rows(router, Reservation, region, Reservation.status == HELD) for region in router.regions.region_codes)


def start_checkout(router, client):
    kin, fdf, pos = shops(router, client)
    _, auth, address_id = buyer_with_address(client)
    cart_of_three(client, auth, (kin, fdf, pos))
    return (kin, fdf, pos), auth, check_out(client, auth, address_id).get_json()


def test_fdf_stopped_past_the_deadline_times_out_its_leg_and_compensates_the_rest(fdf_on_its_own_server):
    cluster, config = fdf_on_its_own_server
    with own_app(config, CPU_CHECKOUT_DEADLINE_SECONDS=DEADLINE_SECONDS) as app:
        platform, router, client = app.extensions["cpu"], app.extensions["cpu"].router, app.test_client()
        (kin, fdf, pos), auth, started = start_checkout(router, client)
        relay = platform.relay()
        relay.run_once(["kin"])  # the order requests leave kin and reach each merchant region
        cluster.stop()  # fdf loses power before its consumer applies the request

        relay.drain()  # kin and pos reserve and answer; fdf cannot
        assert checkout_of(client, auth, started["id"])["state"] == "requested"
        wait_until(started["deadline_at"])
        relay.drain()  # the deadline sweep, then the compensation of kin's and pos's orders

        done = checkout_of(client, auth, started["id"])
        legs = legs_by_merchant(done)
        assert done["state"] == "failed" and done["settled"]
        assert legs[fdf.merchant_id]["state"] == "timed_out"
        assert "did not answer before the checkout's deadline" in legs[fdf.merchant_id]["reason"]
        for shop in (kin, pos):
            assert legs[shop.merchant_id]["state"] == "cancelled"
            assert orders_in(router, shop) == ["cancelled"] and available(router, shop) == (500, 0)

        cluster.start()  # the power is back: fdf's late request must not make an order
        wait_until_answering(cluster)
        settle_after_outage(router, relay)
        assert orders_in(router, fdf) == [] and available(router, fdf) == (500, 0)
        assert held_anywhere(router) == 0
        assert checkout_of(client, auth, started["id"])["state"] == "failed"


def test_fdf_back_before_the_deadline_lets_the_checkout_complete(fdf_on_its_own_server):
    cluster, config = fdf_on_its_own_server
    with own_app(config, CPU_CHECKOUT_DEADLINE_SECONDS="60") as app:
        platform, router, client = app.extensions["cpu"], app.extensions["cpu"].router, app.test_client()
        (kin, fdf, pos), auth, started = start_checkout(router, client)
        relay = platform.relay()
        relay.run_once(["kin"])
        cluster.stop()
        relay.drain()
        assert checkout_of(client, auth, started["id"])["state"] == "requested"

        cluster.start()
        wait_until_answering(cluster)
        settle_after_outage(router, relay)

        done = checkout_of(client, auth, started["id"])
        assert done["state"] == "completed" and {leg["state"] for leg in done["legs"]} == {"confirmed"}
        for shop in (kin, fdf, pos):
            assert orders_in(router, shop) == ["paid"] and available(router, shop) == (500 - 12, 0)
        assert held_anywhere(router) == 0


def settle_after_outage(router, relay, patience: float = 45) -> None:
    """Drain until every event is delivered and applied: what failed while fdf was down waits
    out its backoff (and the breaker its probe) first, so a quiet pass alone proves nothing."""
    deadline = time.monotonic() + patience
    while unfinished(router):
        assert time.monotonic() < deadline, f"events still waiting {patience:.0f} s after fdf came back"
        relay.drain()
        time.sleep(0.3)


def unfinished(router) -> int:
    """Events not yet delivered and applied, in every region; a region its breaker still holds
    shut counts as unfinished."""
    waiting = 0
    for region in router.regions.region_codes:
        try:
            waiting += rows(router, OutboxEvent, region, OutboxEvent.delivered_at.is_(None), OutboxEvent.parked_at.is_(None))
            waiting += rows(router, ConsumerDelivery, region, ConsumerDelivery.parked_at.is_(None))
        except RegionUnavailable:
            waiting += 1
    return waiting
