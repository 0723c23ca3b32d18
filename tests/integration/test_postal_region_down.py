"""A holding region that is down when its parcels' events arrive gets them when it returns:
the receiving region acknowledged and kept them, and their delivery waits and is retried.
PostgreSQL only, as the region outage tests (a SQLite file has no network to lose)."""

from __future__ import annotations

from datetime import timedelta

from marketplace.regions.outbox import RelayPolicy
from tests.api.test_postal_webhooks import shipment, shipped_parcel
from tests.integration.test_region_outage import outage  # noqa: F401  (the fixture: kin behind a TCP proxy)
from tests.support.postal import event, post_events

QUICK = RelayPolicy(backoff_base=timedelta(0), max_attempts=50)


def test_events_for_a_region_that_is_down_are_applied_when_it_returns(outage):  # noqa: F811
    app, proxy = outage
    client, platform = app.test_client(), app.extensions["cpu"]
    shop, _, _, parcel = shipped_parcel(client, platform.router, platform)

    proxy.cut()
    answer = post_events(client, platform, [event(parcel["tracking_number"], "EMD", "2026-12-04T09:00:00+00:00")],
                         operator="tt")  # received in pos, which is up
    assert answer.status_code == 202 and [r["status"] for r in answer.get_json()["results"]] == ["accepted"]
    platform.relay(policy=QUICK).drain(max_batches=3)  # kin's consumer cannot apply it: kept, retried

    proxy.restore()
    platform.router.health.mark_up("kin")
    platform.relay(policy=QUICK).drain()
    seen = shipment(client, shop, parcel)
    assert seen["state"] == "in_transit" and [e["code"] for e in seen["timeline"]] == ["EMD"]
