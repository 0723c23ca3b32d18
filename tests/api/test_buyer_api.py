"""Buyers through the mobile API: sign-up, sign-in, refresh rotation, expiry, signing out,
password reset by mail; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.buyers import tokens
from marketplace.buyers.models import Buyer, BuyerSignInHandle
from marketplace.regions.models import DirectoryEntry
from tests.api.test_merchant_api import merchant
from tests.support.buyers import PASSWORD, bearer, sign_in, sign_up, sign_up_body, signed_up
from tests.support.mail import delivered

RESET_LINK = re.compile(r"https?://\S+/app/reset-password/(\S+)")


def test_a_sign_up_retried_with_its_key_opens_one_account(client, router):
    body = sign_up_body("Ann Retry")
    first = client.post("/api/v1/buyers", json=body, headers={"Idempotency-Key": "signup-1"})
    again = client.post("/api/v1/buyers", json=body, headers={"Idempotency-Key": "signup-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/api/v1/buyers", json={**body, "name": "Someone Else"}, headers={"Idempotency-Key": "signup-1"})
    assert other.status_code == 409
    with router.unit_of_work("kin", read_only=True) as uow:
        assert len(uow.session.scalars(select(Buyer)).all()) == 1


def test_a_buyer_email_is_taken_once_across_the_marketplace(client):
    sign_up(client, "Ann Twice", "JM")
    clash = client.post("/api/v1/buyers", json=sign_up_body("Ann Twice", "MQ"))  # same email, another region
    assert clash.status_code == 409
    assert clash.get_json()["errors"] == {"email": ["already registered"]}


def test_bad_sign_up_input_is_a_422_naming_each_field(client):
    response = client.post("/api/v1/buyers", json={"email": "not-an-email", "password": "short", "name": "",
                                                   "home_country": "XX", "language": "de", "currency": "ZZZ"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"email", "password", "name", "home_country", "language", "currency"}


@pytest.mark.parametrize(("country", "region"), [("JM", "kin"), ("MQ", "fdf"), ("US", "sdq"), ("DE", "fdf"), ("JP", "kin")])
def test_the_home_country_decides_where_the_buyer_lives_and_only_there(client, router, country, region):
    buyer = sign_up(client, f"Homed {country}", country)
    assert buyer["region"] == region
    for code in router.regions.region_codes:
        with router.unit_of_work(code, read_only=True) as uow:
            found = uow.session.get(Buyer, buyer["id"])
        assert (found is not None) == (code == region), code
    with router.directory(read_only=True) as uow:
        assert uow.session.get(DirectoryEntry, buyer["id"]).region == region
        handles = uow.session.scalars(select(BuyerSignInHandle)).all()
    assert [h.buyer_id for h in handles] == [buyer["id"]]
    assert buyer["email"] not in repr([(h.email_digest, h.region) for h in handles])


def test_a_member_states_buyer_gets_its_currency_and_language(client):
    buyer = sign_up(client, "Marie Martinique", "MQ")
    assert (buyer["currency"], buyer["language"]) == ("EUR", "fr")


def test_sign_in_refuses_a_wrong_password_and_an_unknown_email_alike(client):
    buyer = sign_up(client, "Ann Guess")
    wrong = client.post("/api/v1/buyer/tokens", json={"email": buyer["email"], "password": "not the password"})
    unknown = client.post("/api/v1/buyer/tokens", json={"email": "nobody@buyers.example", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]


def test_tokens_name_the_home_region_and_are_not_kept_on_any_shard(client, router):
    buyer = sign_up(client, "Marie Tokens", "MQ")
    pair = sign_in(client, buyer["email"])
    assert pair["access_token"].startswith("cpb.fdf.") and pair["refresh_token"].startswith("cpr.fdf.")
    assert pair["expires_in"] == 15 * 60
    secret = pair["refresh_token"].rsplit(".", 1)[1]
    with router.engine("fdf").connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM buyer_tokens").all()
    assert rows and secret not in repr(rows) and pair["access_token"] not in repr(rows)


def test_the_profile_is_the_callers_and_changes(client):
    _, auth = signed_up(client, "Ann Profile")
    changed = client.patch("/api/v1/buyer/profile", json={"language": "es", "currency": "USD"}, headers=auth)
    assert changed.status_code == 200
    assert (changed.get_json()["language"], changed.get_json()["currency"]) == ("es", "USD")
    assert client.get("/api/v1/buyer/profile", headers=auth).get_json()["currency"] == "USD"
    assert client.get("/api/v1/buyer/profile").status_code == 401


def test_a_refresh_rotates_and_a_spent_refresh_token_revokes_the_whole_family(client):
    buyer = sign_up(client, "Ann Rotate")
    first = sign_in(client, buyer["email"])
    second = client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert client.get("/api/v1/buyer/profile", headers=bearer(second)).status_code == 200

    replayed = client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401
    assert client.get("/api/v1/buyer/profile", headers=bearer(second)).status_code == 401  # the newer tokens too
    assert client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    other_device = sign_in(client, buyer["email"])  # the buyer signs in again; other devices were never touched
    assert client.get("/api/v1/buyer/profile", headers=bearer(other_device)).status_code == 200


def test_access_tokens_expire_after_15_minutes_and_refresh_tokens_after_30_days(client, monkeypatch):
    buyer = sign_up(client, "Ann Expiry")
    pair = sign_in(client, buyer["email"])
    real = tokens.clock
    monkeypatch.setattr(tokens, "clock", lambda session=None: real(session) + timedelta(minutes=14))
    assert client.get("/api/v1/buyer/profile", headers=bearer(pair)).status_code == 200
    monkeypatch.setattr(tokens, "clock", lambda session=None: real(session) + timedelta(minutes=16))
    assert client.get("/api/v1/buyer/profile", headers=bearer(pair)).status_code == 401
    fresh = client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": pair["refresh_token"]})
    assert fresh.status_code == 200
    monkeypatch.setattr(tokens, "clock", lambda session=None: real(session) + timedelta(days=31))
    later = client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": fresh.get_json()["refresh_token"]})
    assert later.status_code == 401


def test_signing_out_ends_this_device_and_signing_out_everywhere_ends_all(client):
    buyer = sign_up(client, "Ann Devices")
    phone, tablet, laptop = (sign_in(client, buyer["email"]) for _ in range(3))
    assert client.delete("/api/v1/buyer/session", headers=bearer(phone)).status_code == 204
    assert client.get("/api/v1/buyer/profile", headers=bearer(phone)).status_code == 401
    assert client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": phone["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/buyer/profile", headers=bearer(tablet)).status_code == 200

    assert client.delete("/api/v1/buyer/sessions", headers=bearer(tablet)).status_code == 204
    for device in (tablet, laptop):
        assert client.get("/api/v1/buyer/profile", headers=bearer(device)).status_code == 401
        assert client.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": device["refresh_token"]}).status_code == 401


def test_a_forged_or_foreign_access_token_is_refused(client):
    _, auth = signed_up(client, "Ann Forged")
    token = auth["Authorization"].removeprefix("Bearer ")
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token.replace("cpb.kin.", "cpb.fdf."),
                   "cpb.kin.nothing", "cpr.kin.x"):
        assert client.get("/api/v1/buyer/profile", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_password_reset_by_mail_signs_out_every_device(app, client):
    buyer = sign_up(client, "Ann Forgets", "MQ")
    device = sign_in(client, buyer["email"])
    with delivered(app) as inbox:
        assert client.post("/api/v1/buyer/password-reset", json={"email": buyer["email"]}).status_code == 202
        assert client.post("/api/v1/buyer/password-reset", json={"email": "nobody@buyers.example"}).status_code == 202
    assert [message["To"] for message in inbox] == [buyer["email"]]
    assert inbox[0]["Subject"].startswith("Choisissez")  # a Martinique buyer reads French
    token = RESET_LINK.search(inbox[0].get_content()).group(1)
    new_password = "a brand new passphrase"
    done = client.post("/api/v1/buyer/password-reset/complete", json={"token": token, "password": new_password})
    assert done.status_code == 204
    assert client.post("/api/v1/buyer/password-reset/complete", json={"token": token, "password": new_password}).status_code == 422
    assert client.get("/api/v1/buyer/profile", headers=bearer(device)).status_code == 401
    assert client.post("/api/v1/buyer/tokens", json={"email": buyer["email"], "password": PASSWORD}).status_code == 401
    sign_in(client, buyer["email"], new_password)


def test_addresses_are_the_buyers_own(client):
    _, auth = signed_up(client, "Ann Address")
    address = {"recipient": "Ann", "line1": "1 Hope Road", "city": "Kingston", "country": "JM"}
    made = client.post("/api/v1/buyer/addresses", json=address, headers=auth)
    assert made.status_code == 201
    assert [a["id"] for a in client.get("/api/v1/buyer/addresses", headers=auth).get_json()] == [made.get_json()["id"]]
    bad = client.post("/api/v1/buyer/addresses", json={"line1": "x", "country": "ZZ"}, headers=auth)
    assert bad.status_code == 422 and {"recipient", "city", "country"} <= set(bad.get_json()["errors"])
    assert client.delete(f"/api/v1/buyer/addresses/{made.get_json()['id']}", headers=auth).status_code == 204
    assert client.get("/api/v1/buyer/addresses", headers=auth).get_json() == []


def test_a_merchant_can_check_a_company_id_and_learns_only_its_region(client, router):
    _, auth = merchant(router, "Hotel Supply", "BB")
    buyer = sign_up(client, "Hotel Buyer", "MQ", company="Hotel Fort")
    found = client.get(f"/api/v1/merchant/companies/{buyer['company_id']}", headers=auth)
    assert found.status_code == 200 and found.get_json() == {"id": buyer["company_id"], "region": "fdf"}
    missing = client.get(f"/api/v1/merchant/companies/{buyer['id']}", headers=auth)
    assert missing.status_code == 404


def test_buyer_sign_in_guesses_are_throttled_like_merchants(client):
    buyer = sign_up(client, "Ann Throttled")
    for _ in range(5):
        assert client.post("/api/v1/buyer/tokens", json={"email": buyer["email"], "password": "wrong guess 1"}).status_code == 401
    refused = client.post("/api/v1/buyer/tokens", json={"email": buyer["email"], "password": PASSWORD})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    other = sign_up(client, "Bob Unaffected")
    assert client.post("/api/v1/buyer/tokens", json={"email": other["email"], "password": PASSWORD}).status_code == 200


def test_a_price_list_may_name_only_companies_that_exist(client, router):
    _, auth = merchant(router, "Hotel Supply", "BB")
    company = sign_up(client, "Hotel Buyer", "MQ", company="Hotel Fort")["company_id"]
    made_up = "cmp_01M8A0000000000000000000AB"
    refused = client.post("/api/v1/merchant/price-lists", headers=auth,
                          json={"name": "Hotels", "company_ids": [company, made_up], "percent_off_bp": 500})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"company_ids": [f"no buyer company {made_up}"]}
    assert client.post("/api/v1/merchant/price-lists", headers=auth,
                       json={"name": "Hotels", "company_ids": [company], "percent_off_bp": 500}).status_code == 201
