"""One way to become a merchant: registration through the API is the dashboard's sign-up,
with an owner who can sign in, and both are throttled per client address."""

from __future__ import annotations

from tests.api.test_storefront_pages import PASSWORD, page_text, post_form
from tests.support.merchants import registration

SIGN_UPS_PER_HOUR = 20


def test_a_registered_merchant_has_an_owner_who_signs_in_to_its_storefront(app, client):
    merchant = client.post("/api/v1/merchants", json=registration("Owned Goods", "BB")).get_json()
    owner = app.test_client()
    signed_in = post_form(owner, "/dashboard/signin", {"email": "owner@owned-goods.example", "password": PASSWORD})
    assert signed_in.status_code == 303
    assert owner.get("/api/v1/merchant/settings").get_json()["id"] == merchant["id"]
    assert client.get("/s/owned-goods").status_code == 200


def test_a_registration_without_an_owner_is_refused(client):
    response = client.post("/api/v1/merchants", json={"name": "Nobody's", "home_country": "JM"})
    assert response.status_code == 422
    assert {"email", "password", "handle", "legal_name"} <= set(response.get_json()["errors"])


def test_registrations_past_the_limit_from_one_address_are_refused_with_retry_after(app):
    client, address = app.test_client(), {"REMOTE_ADDR": "203.0.113.31"}
    statuses = [client.post("/api/v1/merchants", json=registration(f"Flood {n}", "JM"), environ_base=address).status_code
                for n in range(SIGN_UPS_PER_HOUR + 1)]
    assert statuses == [201] * SIGN_UPS_PER_HOUR + [429]
    refused = client.post("/api/v1/merchants", json=registration("Flood again", "JM"), environ_base=address)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    other = client.post("/api/v1/merchants", json=registration("Elsewhere", "JM"), environ_base={"REMOTE_ADDR": "198.51.100.31"})
    assert other.status_code == 201


def test_dashboard_sign_ups_past_the_limit_are_refused_with_retry_after(app):
    client, address = app.test_client(), {"REMOTE_ADDR": "203.0.113.32"}

    def sign_up(n):
        body = registration(f"Form Flood {n}", "JM")
        form = {"trading_name": body["name"], **{k: body[k] for k in ("legal_name", "home_country", "email", "password", "handle")}}
        return post_form(client, "/dashboard/signup", form, environ_base=address)

    statuses = [sign_up(n).status_code for n in range(SIGN_UPS_PER_HOUR)]
    assert statuses == [303] * SIGN_UPS_PER_HOUR
    client.post("/dashboard/signout", data={})  # signed in as the last one; a visitor again
    refused = sign_up(SIGN_UPS_PER_HOUR)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts from your address" in page_text(refused)
