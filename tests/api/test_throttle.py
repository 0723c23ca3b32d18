"""Throttles on signing in, reset links and sign-ups (marketplace/throttle.py), through the
test client with CSRF on, as a browser would post the forms from various addresses."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from marketplace import throttle
from marketplace.regions.router import DIRECTORY
from tests.api.test_storefront_pages import PASSWORD, csrf_token, open_merchant, page_text, post_form
from tests.conftest import make_app
from tests.support.mail import delivered, reset_link

REDIS_URL = "redis://127.0.0.1:6379/15"
WRONG = "guess guess guess"


def sign_in(client, email, password, address="192.0.2.10"):
    return post_form(client, "/dashboard/signin", {"email": email, "password": password},
                     environ_base={"REMOTE_ADDR": address})


def test_five_wrong_passwords_hold_up_that_address_but_not_the_owner_elsewhere(app, router):
    open_merchant(router, handle="target", email="owner@target.example")
    guesser = app.test_client()
    for _ in range(5):
        assert sign_in(guesser, "owner@target.example", WRONG, "203.0.113.66").status_code == 422
    refused = sign_in(guesser, " Owner@Target.example ", PASSWORD, "203.0.113.66")  # even the right one, however typed
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts for this account" in page_text(refused)
    assert sign_in(app.test_client(), "owner@target.example", PASSWORD, "198.51.100.20").status_code == 303


def test_guesses_sent_all_at_once_are_bounded_too(app, router):
    """Failures are counted after the password check; every attempt is counted before it."""
    open_merchant(router, handle="rushed", email="owner@rushed.example")
    clients = [app.test_client() for _ in range(14)]
    tokens = [csrf_token(client, "/dashboard/signin") for client in clients]
    start, statuses = threading.Barrier(len(clients)), []

    def guess(client, token):
        start.wait()
        response = client.post("/dashboard/signin", environ_base={"REMOTE_ADDR": "203.0.113.67"},
                               data={"csrf_token": token, "email": "owner@rushed.example", "password": WRONG})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(422) <= 10 and statuses.count(429) >= 4, statuses


def test_sign_ins_refused_by_an_outage_are_not_counted_against_the_owner(app, client, router):
    open_merchant(router, handle="patient", email="owner@patient.example")
    router.health.mark_down(DIRECTORY, "hurricane")
    for _ in range(6):
        assert sign_in(client, "owner@patient.example", PASSWORD).status_code == 503
    router.health.mark_up(DIRECTORY)
    assert sign_in(client, "owner@patient.example", PASSWORD).status_code == 303


def test_reset_links_are_limited_per_address_and_account(app, router):
    open_merchant(router, handle="forgetful", email="owner@forgetful.example")
    client = app.test_client()

    def ask(address):
        return post_form(client, "/dashboard/reset", {"email": "owner@forgetful.example"},
                         environ_base={"REMOTE_ADDR": address})

    assert [ask("203.0.113.68").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "sent to this address recently" in page_text(ask("203.0.113.68"))
    assert ask("198.51.100.21").status_code == 200  # the owner, from home


def test_reading_the_forms_is_not_throttled(client, router):
    for _ in range(40):
        assert client.get("/dashboard/signin").status_code == 200


def test_ipv6_clients_are_counted_by_their_64_network(app):
    """One host holds a whole /64: counting single addresses would give it billions of budgets."""
    for remote, counted in (("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
                            ("203.0.113.5", "203.0.113.5"), ("::ffff:203.0.113.5", "203.0.113.5")):
        with app.test_request_context(environ_base={"REMOTE_ADDR": remote}):
            assert throttle.client_address() == counted


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
            assert sign_in(clients[n % 2], email, WRONG).status_code == 422
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


def test_reset_links_use_the_public_url_whatever_host_the_request_names(database_config, router):
    """A forged X-Forwarded-Host (or Host) would otherwise send the victim's token to another site."""
    server = make_app(database_config, CPU_TRUSTED_PROXIES="1", CPU_PUBLIC_URL="https://market.example")
    try:
        open_merchant(router, handle="victim", email="owner@victim.example")
        client = server.test_client()
        with delivered(server) as inbox:
            sent = post_form(client, "/dashboard/reset", {"email": "owner@victim.example"},
                             headers={"X-Forwarded-Host": "evil.example"})  # passed through by many proxies
        assert sent.status_code == 200
        assert reset_link(inbox[0]).startswith("https://market.example/dashboard/reset/")
        assert "evil.example" not in inbox[0].as_string()
    finally:
        server.extensions["cpu-throttle"].reset()
        server.extensions["cpu"].router.dispose()


def test_a_refused_sign_in_logs_no_email_address(app, router, caplog):
    """Flask-Limiter logs the key of every limit it enforces: the key names the account by a digest."""
    open_merchant(router, handle="quiet", email="owner@quiet.example")
    guesser = app.test_client()
    with caplog.at_level("DEBUG"):
        for _ in range(6):
            sign_in(guesser, "owner@quiet.example", WRONG, "203.0.113.77")
    assert any(r.name.startswith("flask-limiter") for r in caplog.records), "the limiter logged the refusal"
    assert "owner@quiet.example" not in caplog.text
