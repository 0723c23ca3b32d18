"""Sessions checked on the server, separate keys, cookie flags, and `next=` after sign-in."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from marketplace import config
from marketplace.merchants import accounts
from marketplace.merchants.auth import digest
from marketplace.regions.models import SignInHandle
from tests.api.test_storefront_pages import PASSWORD, open_merchant, post_form
from tests.support.mail import delivered, reset_link

EMAIL = "owner@example.com"


def signed_in_client(app, router):
    client = app.test_client()
    response = post_form(client, "/dashboard/signin", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303
    return client


def copy_cookie(source, target):
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def test_a_cookie_copied_before_sign_out_no_longer_works_after_it(app, client, router):
    open_merchant(router, email=EMAIL)
    browser = signed_in_client(app, router)
    thief = app.test_client()
    copy_cookie(browser, thief)
    assert thief.get("/dashboard/settings").status_code == 200

    assert post_form(browser, "/dashboard/signout", {}, form_page="/dashboard/").status_code == 303
    assert thief.get("/dashboard/settings").status_code == 302
    assert thief.post("/api/v1/merchant/api-keys", json={"name": "stolen"}).status_code == 401


def test_signing_out_everywhere_ends_every_session_of_that_user(app, client, router):
    open_merchant(router, email=EMAIL)
    laptop, phone = signed_in_client(app, router), signed_in_client(app, router)
    assert post_form(laptop, "/dashboard/signout-everywhere", {}, form_page="/dashboard/settings").status_code == 303
    assert phone.get("/dashboard/settings").status_code == 302
    assert laptop.get("/dashboard/settings").status_code == 302
    assert phone.get("/api/v1/merchant/settings").status_code == 401


def test_signing_out_in_one_browser_leaves_the_others_signed_in(app, client, router):
    open_merchant(router, email=EMAIL)
    laptop, phone = signed_in_client(app, router), signed_in_client(app, router)
    post_form(laptop, "/dashboard/signout", {}, form_page="/dashboard/")
    assert phone.get("/dashboard/settings").status_code == 200


def test_a_password_reset_ends_every_session(app, client, router, platform):
    open_merchant(router, email=EMAIL)
    browser = signed_in_client(app, router)
    with delivered(app) as inbox:
        accounts.request_password_reset(router=router, mail=platform.mail, email=EMAIL,
                                        link_base="http://localhost/dashboard/reset/")
    token = reset_link(inbox[0]).rpartition("/")[2]
    accounts.reset_password(router=router, token=token, password="a brand new secret")
    assert browser.get("/dashboard/settings").status_code == 302


def test_a_forged_cookie_with_a_made_up_token_is_not_signed_in(app, client, router):
    owner = open_merchant(router, email=EMAIL)
    with client.session_transaction() as session:
        session.update({"region": owner.region, "session_token": "made-up", "merchant_id": owner.merchant_id,
                        "staff_id": owner.staff_id, "role": "owner"})
    assert client.get("/dashboard/settings").status_code == 302
    assert client.get("/api/v1/merchant/settings").status_code == 401


def test_the_session_cookie_is_http_only_and_same_site_lax(app, client, router):
    open_merchant(router, email=EMAIL)
    response = post_form(client, "/dashboard/signin", {"email": EMAIL, "password": PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the embedded default serves plain http on 127.0.0.1


def test_the_cookie_signing_key_rotates_without_signing_anyone_out(app, client, router, database_config):
    from tests.conftest import make_app

    open_merchant(router, email=EMAIL)
    browser = signed_in_client(app, router)
    old = app.config["SECRET_KEY"]
    rotated = make_app(database_config, CPU_SECRET_KEY="a-new-cookie-key-" + "x" * 20, CPU_SECRET_KEY_FALLBACKS=old)
    try:
        moved = rotated.test_client()
        copy_cookie(browser, moved)
        assert moved.get("/dashboard/settings").status_code == 200
        # and the email lookup, keyed apart, still finds the owner
        assert accounts.sign_in(router=rotated.extensions["cpu"].router, email=EMAIL, password=PASSWORD)
    finally:
        rotated.extensions["cpu"].router.dispose()


def test_emails_are_looked_up_with_their_own_key_not_the_cookie_key(router):
    with router.directory(read_only=True) as uow:
        assert uow.session.get(SignInHandle, digest(router.settings.secret_key, EMAIL)) is None
    open_merchant(router, email=EMAIL)
    with router.directory(read_only=True) as uow:
        assert uow.session.get(SignInHandle, digest(router.settings.email_lookup_key, EMAIL)) is not None
        assert uow.session.get(SignInHandle, digest(router.settings.secret_key, EMAIL)) is None


def test_production_needs_an_email_lookup_key_apart_from_the_cookie_key(tmp_path):
    with pytest.raises(config.ConfigError) as error:
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)},
                    environ={"CPU_ENV": "production", "CPU_SECRET_KEY": "k" * 40, "CPU_EMAIL_LOOKUP_KEY": "k" * 40})
    assert "CPU_EMAIL_LOOKUP_KEY must differ from CPU_SECRET_KEY" in str(error.value)


# next= after signing in --------------------------------------------------------------------

BYPASSES = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example", "https://evil.example",
    "http:/evil.example", "http:evil.example", "javascript:alert(1)", "evil.example", "/\x00/evil.example",
    "/\\/evil.example", "//evil.example@market.example", "\x0b//evil.example",
]


@pytest.mark.parametrize("target", BYPASSES, ids=repr)
def test_signing_in_never_redirects_off_the_site(client, router, target):
    open_merchant(router, email=EMAIL)
    signin = "/dashboard/signin?next=" + quote(target, safe="")
    response = post_form(client, signin, {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    already = client.get(signin)
    assert already.status_code == 302 and already.headers["Location"] == "/dashboard/"


def test_a_same_site_next_path_is_kept(client, router):
    open_merchant(router, email=EMAIL)
    signin = "/dashboard/signin?next=" + quote("/dashboard/products?page=2", safe="")
    response = post_form(client, signin, {"email": EMAIL, "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard/products?page=2"
