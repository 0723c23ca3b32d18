"""What a batch of postal events costs the database: a fixed number of statements, whatever
its size. Operators send up to 500 events at a time and the endpoint must keep up with all of
them (bench/postal_webhooks.py: 3,000 events/s); a statement per event, in the receiving
region or in the region applying them, is what made it slow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.regions import outbox
from tests.api.test_postal_webhooks import shipment, shipped_parcel, statuses
from tests.support.postal import event, post_events
from tests.support.shop import settle
from tests.support.statements import sent_through


def counted(router):
    """The statements sent to any region's database inside the block."""
    return sent_through(router.engine(region) for region in router.served_regions)


def transit_events(number: str, first: int, count: int) -> list[dict]:
    start = datetime(2026, 12, 3, 8, tzinfo=UTC)
    return [event(number, "EMC", (start + timedelta(minutes=first + n)).isoformat(), event_id=f"transit-{first + n}")
            for n in range(count)]


def test_a_batch_of_fifty_events_costs_the_statements_of_a_batch_of_five(client, router, platform, monkeypatch):
    shop, _, _, parcel = shipped_parcel(client, router, platform)
    number = parcel["tracking_number"]
    settle(platform)
    # Only the postal path is counted: the relay's chores (stock sweeps, deadlines, webhook
    # sends) act on whatever earlier tests left in the shared databases, and its look for
    # abandoned events comes once a second, so either would count more when the machine is slow.
    monkeypatch.setattr(outbox, "SWEEP_EVERY", 3600.0)
    relay = platform.relay(chores=[])
    costs = []
    # the first batch also meets the consumers and caches for the first time
    for first, count in ((0, 5), (5, 5), (10, 50)):
        with counted(router) as received:
            answer = post_events(client, platform, transit_events(number, first, count))
        with counted(router) as applied:
            settle(platform, relay)
        assert statuses(answer) == ["accepted"] * count
        costs.append((len(received), len(applied)))
    assert costs[2] == costs[1], f"(received, applied) statements: 5 events {costs[1]}, 50 events {costs[2]}"
    seen = shipment(client, shop, parcel)
    assert len(seen["timeline"]) == 60 and seen["state"] == "in_transit"
