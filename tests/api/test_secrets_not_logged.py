"""No secret reaches a log line (issue 9, item 3): a whole journey with every logger at DEBUG,
read the way the log is written (JSON lines, the access log included) and record by record
(message, arguments and extra fields), and not one line holds a password, the API key, the
reset token or the session cookie."""

from __future__ import annotations

import io
import logging

from marketplace import observability
from marketplace.merchants import session_cookie
from tests.api.test_storefront_pages import post_form
from tests.support.mail import delivered, reset_link

EMAIL, FIRST_PASSWORD, NEW_PASSWORD = "owner@roasters.example", "first secret passphrase", "second secret passphrase"


def test_a_whole_journey_logs_no_password_key_token_or_cookie(app, client, caplog):
    cookies: set[str] = set()
    written = io.StringIO()
    json_lines = observability.json_handler(written)
    root = logging.getLogger()
    root.addHandler(json_lines)
    try:
        with caplog.at_level(logging.DEBUG):
            secrets = _journey(app, client, cookies)
    finally:
        root.removeHandler(json_lines)
    secrets += cookies

    records = "\n".join(_everything_in(record) for record in caplog.records)
    assert "password reset requested for stf_" in records and "/dashboard/reset/[redacted]" in records
    assert '"logger": "marketplace.access"' in written.getvalue()  # the JSON lines are the same log
    for secret in secrets:
        assert secret not in records, secret
        assert secret not in written.getvalue(), secret


def _journey(app, client, cookies: set[str]) -> list[str]:
    """Sign up, make an API key, reset the password by mail, sign in again, use the key.
    Returns the secrets met on the way: the passwords, the API key and the reset token, whole
    and its secret half alone."""
    signed_up = post_form(client, "/dashboard/signup", {
        "trading_name": "Roasters", "legal_name": "Roasters Ltd", "home_country": "JM", "email": EMAIL,
        "password": FIRST_PASSWORD, "handle": "roasters"})
    assert signed_up.status_code == 303
    _note_cookie(client, cookies)
    made = client.post("/api/v1/merchant/api-keys", json={"name": "till"})
    assert made.status_code == 201
    api_key = made.get_json()["token"]

    with delivered(app) as inbox:
        assert post_form(client, "/dashboard/reset", {"email": EMAIL}).status_code == 200
    link = reset_link(inbox[0])
    token = link.rpartition("/")[2]
    opened = client.get(link.removeprefix("http://localhost"))
    assert opened.status_code == 303
    _note_cookie(client, cookies)  # it carries the reset token now
    chosen = post_form(client, opened.headers["Location"], {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert chosen.status_code == 303
    assert post_form(client, "/dashboard/signin", {"email": EMAIL, "password": NEW_PASSWORD}).status_code == 303
    _note_cookie(client, cookies)
    assert client.get("/api/v1/merchant/settings", headers={"Authorization": f"Bearer {api_key}"}).status_code == 200
    return [FIRST_PASSWORD, NEW_PASSWORD, api_key, token, token.partition(".")[2]]


def _note_cookie(client, cookies: set[str]) -> None:
    """The session cookie as sent, and the session token inside it."""
    cookies.add(client.get_cookie("session").value)
    with client.session_transaction() as session:
        if session.get(session_cookie.TOKEN):
            cookies.add(session[session_cookie.TOKEN])


def _everything_in(record: logging.LogRecord) -> str:
    """A record's message, arguments and every attribute (extra fields included), as text."""
    return "\n".join([record.getMessage(), repr(record.args), *(f"{k}={v!r}" for k, v in vars(record).items())])


def test_a_buyers_journey_logs_no_password_or_token(app, client, caplog):
    """The same for the buyers' mobile API: passwords, access and refresh tokens (a reused one
    is logged about, by its session id only) and the reset token."""
    written = io.StringIO()
    json_lines = observability.json_handler(written)
    root = logging.getLogger()
    root.addHandler(json_lines)
    try:
        with caplog.at_level(logging.DEBUG):
            secrets = _buyer_journey(app, client)
    finally:
        root.removeHandler(json_lines)
    records = "\n".join(_everything_in(record) for record in caplog.records)
    assert "a spent refresh token was presented again" in records and "password reset requested for buy_" in records
    for secret in secrets:
        assert secret not in records, secret
        assert secret not in written.getvalue(), secret


def _buyer_journey(app, client) -> list[str]:
    email, colleague = "ann@buyer-journey.example", "colleague secret phrase"
    assert client.post("/api/v1/buyers", json={"email": email, "password": FIRST_PASSWORD, "name": "Ann", "home_country": "JM",
                                               "company": {"name": "Journey Hotels", "tax_registration_number": "T-1"}},
                       headers={"Idempotency-Key": "journey"}).status_code == 201
    first = client.post("/api/v1/buyer/tokens", json={"email": email, "password": FIRST_PASSWORD}).get_json()
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    assert client.post("/api/v1/buyer/company/users", headers=auth,
                       json={"email": "bob@buyer-journey.example", "password": colleague, "name": "Bob"}).status_code == 201
    second = client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": first["refresh_token"]}).get_json()
    assert client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/buyer/tokens", json={"email": email, "password": "a wrong guess here"}).status_code == 401
    with delivered(app) as inbox:
        assert client.post("/api/v1/buyer/password-reset", json={"email": email}).status_code == 202
    token = inbox[0].get_content().split("/app/reset-password/")[1].split()[0]
    assert client.post("/api/v1/buyer/password-reset/complete",
                       json={"token": token, "password": NEW_PASSWORD}).status_code == 204
    third = client.post("/api/v1/buyer/tokens", json={"email": email, "password": NEW_PASSWORD}).get_json()
    assert client.get("/api/v1/buyer/profile", headers={"Authorization": f"Bearer {third['access_token']}"}).status_code == 200
    pairs = [first, second, third]
    return [FIRST_PASSWORD, NEW_PASSWORD, colleague, "a wrong guess here", token, token.partition(".")[2],
            *(pair[name] for pair in pairs for name in ("access_token", "refresh_token")),
            *(pair["refresh_token"].rpartition(".")[2] for pair in pairs)]
