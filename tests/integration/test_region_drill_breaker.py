"""Drill finding: the breaker could not close from writes alone. A request that checks the
region's health itself before writing there is the probe the breaker let through; its own
unit of work must not then find the breaker still testing and answer 503."""

import threading
import time

import pytest

from marketplace.errors import RegionUnavailable

from tests.conftest import own_app
from tests.support.merchants import registration


@pytest.fixture
def quick_breaker_app(database_config):
    with own_app(database_config, CPU_REGION_RETRY_AFTER="1") as app:
        yield app


def test_a_write_that_is_the_probe_closes_the_breaker(quick_breaker_app):
    router = quick_breaker_app.extensions["cpu"].router
    client = quick_breaker_app.test_client()
    router.health.mark_down("kin", "unreachable")  # kin was down; it is back now
    time.sleep(1.1)  # the pause is over: the next check is the one probe

    router.health.check("kin")  # the registration's own look at the region's health
    response = client.post("/api/v1/merchants", json=registration("Back in Business", "JM"))
    assert response.status_code == 201, response.get_json()
    assert not router.health.is_open("kin")


def test_only_the_probe_goes_through_while_it_runs(quick_breaker_app):
    router = quick_breaker_app.extensions["cpu"].router
    router.health.mark_down("kin", "unreachable")
    time.sleep(1.1)
    router.health.check("kin")  # this thread is the probe
    refused = []

    def another_request():
        try:
            router.health.check("kin")
        except RegionUnavailable as exc:
            refused.append(exc)

    other = threading.Thread(target=another_request)
    other.start()
    other.join()
    assert refused and refused[0].region == "kin"
