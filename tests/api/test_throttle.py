"""Throttles on signing in, reset links and sign-ups (marketplace/throttle.py), through the
test client with CSRF on, as a browser would post the forms."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.api.test_storefront_pages import PASSWORD, open_merchant, page_text, post_form
from tests.conftest import make_app

REDIS_URL = "redis://127.0.0.1:6379/15"


def sign_in(client, email, password):
    return post_form(client, "/dashboard/signin", {"email": email, "password": password})


def test_an_account_gets_five_wrong_passwords_a_minute_then_waits(client, router):
    open_merchant(router, handle="target", email="owner@target.example")
    open_merchant(router, handle="other", email="owner@other.example")
    for _ in range(5):
        assert sign_in(client, "owner@target.example", "guess guess guess").status_code == 422
    refused = sign_in(client, " Owner@Target.example ", PASSWORD)  # even the right password, however typed
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins for this account" in page_text(refused)
    assert sign_in(client, "owner@other.example", PASSWORD).status_code == 303  # other accounts are not held up


def test_signing_in_successfully_is_never_throttled_per_account(app, router):
    open_merchant(router, handle="regular", email="owner@regular.example")
    for _ in range(8):  # a fresh browser each time: the staff signs in on many devices
        assert sign_in(app.test_client(), "owner@regular.example", PASSWORD).status_code == 303


def test_reset_links_for_one_address_are_limited_to_three_an_hour(client, router):
    open_merchant(router, handle="forgetful", email="owner@forgetful.example")
    for _ in range(3):
        assert post_form(client, "/dashboard/reset", {"email": "owner@forgetful.example"}).status_code == 200
    refused = post_form(client, "/dashboard/reset", {"email": "owner@forgetful.example"})
    assert refused.status_code == 429 and "sent to this address recently" in page_text(refused)
    assert post_form(client, "/dashboard/reset", {"email": "someone@else.example"}).status_code == 200


def test_reading_the_forms_is_not_throttled(client, router):
    for _ in range(40):
        assert client.get("/dashboard/signin").status_code == 200


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}: the shared-counting test needs one (the CI machine runs it)")
    return REDIS_URL


def test_with_redis_every_process_counts_the_same_attempts(database_config, redis_url, router):
    """Two server processes (two apps here) share the count: spreading guesses over them
    gains nothing."""
    email = f"owner@{uuid.uuid4().hex[:8]}.example"
    open_merchant(router, handle="shared", email=email)
    servers = [make_app(database_config, CPU_RATE_LIMIT_STORAGE=redis_url) for _ in range(2)]
    try:
        clients = [server.test_client() for server in servers]
        for n in range(5):
            assert sign_in(clients[n % 2], email, "guess guess guess").status_code == 422
        assert sign_in(clients[1], email, PASSWORD).status_code == 429
    finally:
        for server in servers:
            server.extensions["cpu-throttle"].reset()
            server.extensions["cpu"].router.dispose()


def ask_for_resets(client, count, forwarded_for):
    """`count` reset requests for different addresses, as sent through a proxy for `forwarded_for`."""
    statuses = []
    for _ in range(count):
        response = post_form(client, "/dashboard/reset", {"email": f"{uuid.uuid4().hex[:8]}@example.com"},
                             headers={"X-Forwarded-For": forwarded_for})
        statuses.append(response.status_code)
    return statuses


def test_behind_a_trusted_proxy_each_client_address_is_counted_on_its_own(database_config):
    server = make_app(database_config, CPU_TRUSTED_PROXIES="1")
    try:
        client = server.test_client()
        assert ask_for_resets(client, 11, "203.0.113.7") == [200] * 10 + [429]
        assert ask_for_resets(client, 1, "198.51.100.2") == [200]
    finally:
        server.extensions["cpu-throttle"].reset()
        server.extensions["cpu"].router.dispose()


def test_without_a_trusted_proxy_a_forwarded_for_header_is_ignored(client):
    """Otherwise a guesser would write a new X-Forwarded-For on every try."""
    statuses = [ask_for_resets(client, 1, f"203.0.113.{n}")[0] for n in range(11)]
    assert statuses == [200] * 10 + [429]
