"""Drill findings on a frozen region (PostgreSQL behind a proxy that stops answering, as a
server under SIGSTOP does: the kernel still acknowledges, nothing comes back). Every request
for it ends within 1 s, pings and new connections included, and its trouble never takes the
threads or the log lines of another region."""

import io
import json
import logging
import threading

from marketplace import observability
from marketplace.regions import engines
from tests.integration.test_region_outage import outage, timed  # noqa: F401  (a fixture)
from tests.support.merchants import registration


def _in_thread(call, limit: float = 5.0):
    """Run `call` on a thread; (its answer, seconds), or fail instead of hanging the suite."""
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(result=timed(call)), daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit} s"
    return answer["result"]


def test_the_ping_of_an_idle_connection_to_a_frozen_region_has_the_deadline(outage, monkeypatch):
    app, proxy = outage
    client = app.test_client()
    kin = client.post("/api/v1/merchants", json=registration("Ocho Rios Honey", "JM")).get_json()
    monkeypatch.setattr(engines, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle

    proxy.freeze()
    response, seconds = _in_thread(lambda: client.get(f"/api/v1/merchants/{kin['id']}"))
    assert response.status_code == 503 and seconds < 1.0, (response.status_code, round(seconds, 2))
    assert response.get_json()["region"] == "kin"


def test_a_new_connection_to_a_frozen_region_gives_up_within_a_second(outage):
    app, proxy = outage
    client = app.test_client()
    kin = client.post("/api/v1/merchants", json=registration("Negril Sauces", "JM")).get_json()
    app.extensions["cpu"].router.engine("kin").dispose()  # the next request must open a connection

    proxy.freeze()
    response, seconds = _in_thread(lambda: client.get(f"/api/v1/merchants/{kin['id']}"))
    assert response.status_code == 503 and seconds < 1.0, (response.status_code, round(seconds, 2))
    assert response.get_json()["region"] == "kin"


def test_fast_503s_are_logged_with_their_region(outage):
    app, proxy = outage
    client = app.test_client()
    kin = client.post("/api/v1/merchants", json=registration("Treasure Beach Fish", "JM")).get_json()
    sdq = client.post("/api/v1/merchants", json=registration("Samana Coco", "DO")).get_json()
    proxy.cut()
    router = app.extensions["cpu"].router
    while not router.health.is_open("kin"):  # the dead pooled connection first, then the refusal opens it
        assert client.get(f"/api/v1/merchants/{kin['id']}").status_code == 503

    lines = io.StringIO()
    handler = observability.json_handler(lines)
    logging.getLogger().addHandler(handler)
    try:
        assert client.get(f"/api/v1/merchants/{sdq['id']}").status_code == 200  # another region served last
        assert client.get(f"/api/v1/merchants/{kin['id']}").status_code == 503  # the breaker's fast answer
    finally:
        logging.getLogger().removeHandler(handler)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    fast = [r for r in records if r.get("status") == 503 or "unavailable" in r["message"]]
    assert fast and {r["region"] for r in fast} == {"kin"}, records
