"""Drill finding: a region's trouble held threads another region needed. A bulkhead bounds
the units of work open on one region at a time; the next request for it is refused at once
(503, Retry-After, naming it) while the other regions answer as usual."""

import threading

import pytest
from sqlalchemy import text

from tests.conftest import own_app
from tests.integration.test_region_outage import timed
from tests.support.merchants import open_account

SLOTS = 2  # with CPU_DB_POOL_SIZE=1: the pool's one connection and its one overflow


@pytest.fixture
def small_app(database_config):
    with own_app(database_config, CPU_DB_POOL_SIZE="1") as app:
        yield app


def test_a_region_whose_slots_are_taken_is_refused_at_once_and_the_others_answer(small_app):
    router = small_app.extensions["cpu"].router
    client = small_app.test_client()
    kingston = open_account(router, "Port Antonio Spice", "JM")
    santo_domingo = open_account(router, "Bávaro Cacao", "DO")
    holding, release = threading.Barrier(SLOTS + 1), threading.Event()

    def slow_request_on_kin():
        with router.unit_of_work("kin", read_only=True) as uow:
            uow.session.execute(text("SELECT 1"))  # holds a connection, as a stuck statement would
            holding.wait()
            release.wait(10)

    slow = [threading.Thread(target=slow_request_on_kin) for _ in range(SLOTS)]
    for thread in slow:
        thread.start()
    holding.wait()
    try:
        response, seconds = timed(lambda: client.get(f"/api/v1/merchants/{kingston.id}"))
        assert response.status_code == 503 and seconds < 0.5, (response.status_code, round(seconds, 2))
        assert response.get_json()["region"] == "kin" and response.headers["Retry-After"] == "1"
        other, seconds = timed(lambda: client.get(f"/api/v1/merchants/{santo_domingo.id}"))
        assert other.status_code == 200 and seconds < 0.5
    finally:
        release.set()
        for thread in slow:
            thread.join()
    assert not router.health.is_open("kin")  # busy is not down
    assert client.get(f"/api/v1/merchants/{kingston.id}").status_code == 200
