"""A password reset as the merchant lives it: the link arrives by mail from a real SMTP
server, opening it leads to a page whose address holds no token, and a mail server that is
down or refuses us changes nothing the visitor can see."""

from __future__ import annotations

import logging

import pytest

from tests.api.test_storefront_pages import open_merchant, page_text, post_form
from tests.conftest import make_app
from tests.support.mail import reset_link, smtp_server

EMAIL = "owner@example.com"


@pytest.fixture
def server_app(database_config):
    """An app of its own, for a CPU_MAIL_URL of the test's choosing, on the session's databases."""
    made = []

    def make(**settings):
        made.append(make_app(database_config, **settings))
        return made[-1]

    yield make
    for app in made:
        app.extensions["cpu-throttle"].reset()
        app.extensions["cpu"].router.dispose()


def test_a_reset_link_mailed_over_smtp_sets_a_new_password(server_app, router):
    open_merchant(router, email=EMAIL)
    with smtp_server(username="cpu@market", password="p@ss word") as smtp:
        app = server_app(CPU_MAIL_URL=f"smtp://cpu%40market:p%40ss%20word@127.0.0.1:{smtp.port}")
        client = app.test_client()
        sent = post_form(client, "/dashboard/reset", {"email": EMAIL})
        assert sent.status_code == 200 and "Check your email" in page_text(sent)
        [received] = smtp.received
    assert received.logged_in and received.recipients == [EMAIL] and received.message["To"] == EMAIL

    opened = client.get(reset_link(received.message).removeprefix("http://localhost"))
    assert opened.status_code == 303 and opened.headers["Location"] == "/dashboard/reset/new-password"
    chosen = post_form(client, opened.headers["Location"], {"password": "a brand new secret", "password_again": "a brand new secret"})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/dashboard/signin"
    assert post_form(client, "/dashboard/signin", {"email": EMAIL, "password": "a brand new secret"}).status_code == 303


@pytest.mark.parametrize("trouble", ["server down", "login refused"])
def test_a_mail_server_in_trouble_changes_nothing_the_visitor_sees(server_app, router, caplog, trouble):
    open_merchant(router, email=EMAIL)
    with smtp_server(username="cpu", password="the right one") as smtp:
        port = smtp.port
        if trouble == "login refused":
            app = server_app(CPU_MAIL_URL=f"smtp://cpu:a-wrong-one@127.0.0.1:{port}")
            client = app.test_client()
            with caplog.at_level(logging.DEBUG):
                known = post_form(client, "/dashboard/reset", {"email": EMAIL})
    if trouble == "server down":
        app = server_app(CPU_MAIL_URL=f"smtp://127.0.0.1:{port}")  # nothing listens there any more
        client = app.test_client()
        with caplog.at_level(logging.DEBUG):
            known = post_form(client, "/dashboard/reset", {"email": EMAIL})
    unknown = post_form(client, "/dashboard/reset", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert page_text(known) == page_text(unknown).replace("nobody@example.com", EMAIL)
    [failure] = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "marketplace.merchants.accounts"]
    assert failure.getMessage().startswith("password reset mail for stf_") and "not sent" in failure.getMessage()
    assert "/dashboard/reset/stf_" not in caplog.text and "a-wrong-one" not in caplog.text
