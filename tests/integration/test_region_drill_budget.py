"""Drill finding: a request's first try, sent as its region froze, waited its own statement
deadline behind the others waiting there, and a sign-up paid one deadline for its admission
and another for its first statement (1.32 s in the drill; the limit is 1 s). Now a request has
one budget for every wait, the first request to find its region away fails the others
waiting there at once, and the breaker's probe of a region waits only briefly.

PostgreSQL only: the kin database sits behind a TCP proxy that the test freezes."""

import threading
import time

import pytest
from sqlalchemy import text

from marketplace.errors import RegionUnavailable
from marketplace.regions.deadline import deadline_for
from tests.integration.test_region_outage import outage, timed  # noqa: F401  (a fixture)
from tests.support.merchants import registration


def _later(call, after: float) -> dict:
    """`call` on a thread after `after` seconds; its (answer, seconds) land in the dict."""
    answer = {}

    def run():
        time.sleep(after)
        answer["result"] = timed(call)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    answer["thread"] = thread
    return answer


def test_requests_waiting_on_a_frozen_region_fail_together_when_the_first_finds_it_away(outage):
    app, proxy = outage
    first_client, second_client = app.test_client(), app.test_client()
    kin = first_client.post("/api/v1/merchants", json=registration("Port Royal Rum", "JM")).get_json()

    proxy.freeze()
    first = _later(lambda: first_client.get(f"/api/v1/merchants/{kin['id']}"), 0.0)
    second = _later(lambda: second_client.get(f"/api/v1/merchants/{kin['id']}"), 0.4)
    for answer in (first, second):
        answer["thread"].join(5)
        assert "result" in answer, "still waiting after 5 s"
    (first_response, first_seconds), (second_response, second_seconds) = first["result"], second["result"]
    assert first_response.status_code == 503 and first_seconds < 1.0, round(first_seconds, 2)
    # it started 0.4 s after the first, which found kin away at 0.75 s: it waits the difference,
    # not a deadline of its own (0.75 s, which a request queued later would add to its queueing)
    assert second_response.status_code == 503 and second_seconds < 0.6, round(second_seconds, 2)
    assert second_response.get_json()["region"] == "kin"


def test_the_statements_of_one_request_share_one_budget(outage):
    router = outage[0].extensions["cpu"].router
    with deadline_for(0.6), router.unit_of_work("kin", read_only=True) as uow:
        uow.session.execute(text("SELECT pg_sleep(0.4)"))  # well within 0.6 s on its own
    started = time.monotonic()
    with pytest.raises(RegionUnavailable), deadline_for(0.6), router.unit_of_work("kin", read_only=True) as uow:
        uow.session.execute(text("SELECT pg_sleep(0.4)"))
        uow.session.execute(text("SELECT pg_sleep(0.4)"))  # 0.8 s in all: the second is cut at 0.6 s
    assert time.monotonic() - started < 0.75
    router.health.mark_up("kin")


def test_the_probe_of_a_region_still_frozen_is_refused_quickly(outage):
    app, proxy = outage
    client = app.test_client()
    kin = client.post("/api/v1/merchants", json=registration("Blue Mountain Beans", "JM")).get_json()
    router = app.extensions["cpu"].router

    proxy.freeze()
    assert client.get(f"/api/v1/merchants/{kin['id']}").status_code == 503  # finds kin away: the breaker opens
    time.sleep(1.1)  # CPU_REGION_RETRY_AFTER=1: the next request is the breaker's probe
    assert router.health.is_open("kin")
    response, seconds = timed(lambda: client.get(f"/api/v1/merchants/{kin['id']}"))
    assert response.status_code == 503 and seconds < 0.5, round(seconds, 2)  # not the whole 0.75 s budget


def test_a_wait_left_behind_never_cuts_the_connection_that_took_its_socket_over(postgres_admin_url):
    """A wait whose end was never seen expires after its connection closed; the descriptor it
    knew now belongs to another connection (in CI, another region's), which stays whole."""
    import psycopg

    from marketplace.regions.deadline import Watchdog, _socket_cutter

    watchdog = Watchdog(default_seconds=0.1)
    gone = psycopg.connect(postgres_admin_url)
    fd = gone.pgconn.socket
    watchdog._start("left behind", "kin", _socket_cutter(gone, {}))  # as an error path that skipped _stop
    gone.close()
    with psycopg.connect(postgres_admin_url) as heir:
        assert heir.pgconn.socket == fd  # the kernel gave the lowest free descriptor again
        time.sleep(0.3)  # the left-behind wait expired meanwhile
        assert heir.execute("SELECT 1").fetchone() == (1,)
