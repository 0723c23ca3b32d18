"""API keys are worth no more than their maker: the escalation chain (staff makes a key, the
key adds an owner, the owner signs in) is closed; keys record who made them; revocation is
honoured at once here and within seconds elsewhere; keys and staff are capped per merchant."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from marketplace.merchants import accounts, api_keys
from marketplace.merchants.models import StaffUser
from tests.api.test_storefront_pages import PASSWORD, post_form
from tests.conftest import make_app


@pytest.fixture
def owner(router):
    return accounts.sign_up(router=router, trading_name="Key Roles", legal_name="Key Roles Ltd", home_country="TT",
                            email="owner@key-roles.example", password=PASSWORD, handle="key-roles")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def signed_in(app, email):
    client = app.test_client()
    assert post_form(client, "/dashboard/signin", {"email": email, "password": PASSWORD}).status_code == 303
    return client


@contextmanager
def separate_app(database_config, **settings):
    """Another server process on the same databases."""
    other = make_app(database_config, **settings)
    try:
        yield other
    finally:
        other.extensions["cpu-throttle"].reset()
        other.extensions["cpu"].router.dispose()


def test_a_staff_user_cannot_make_a_key_so_cannot_make_an_owner(app, router, owner):
    accounts.add_staff(router=router, principal=owner, email="staff@key-roles.example", password=PASSWORD)
    staff = signed_in(app, "staff@key-roles.example")
    refused = staff.post("/api/v1/merchant/api-keys", json={"name": "escalate"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "owner" in refused.get_json()["detail"]
    page = post_form(staff, "/dashboard/api-keys", {"name": "escalate"}, form_page="/dashboard/")
    assert page.status_code == 403
    assert staff.post("/api/v1/merchant/staff", json={"email": "new-owner@key-roles.example", "password": PASSWORD,
                                                      "role": "owner"}).status_code == 403
    # the owner the chain wanted does not exist, and cannot sign in
    failed = app.test_client()
    assert post_form(failed, "/dashboard/signin", {"email": "new-owner@key-roles.example", "password": PASSWORD}).status_code == 422
    assert [k.name for k in api_keys.list_(router=router, principal=owner)] == []


def test_an_owners_key_acts_as_an_owner(client, router, owner):
    _, token = api_keys.create(router=router, principal=owner, name="ops")
    added = client.post("/api/v1/merchant/staff", headers=bearer(token),
                        json={"email": "second-owner@key-roles.example", "password": PASSWORD, "role": "owner"})
    assert added.status_code == 201
    made = client.post("/api/v1/merchant/api-keys", json={"name": "made by a key"}, headers=bearer(token))
    assert made.status_code == 201 and made.get_json()["role"] == "owner"


def test_a_key_whose_maker_is_no_longer_an_owner_acts_as_staff(client, router, owner):
    key, token = api_keys.create(router=router, principal=owner, name="ops")
    with router.unit_of_work(owner.region) as uow:
        uow.session.execute(update(StaffUser).where(StaffUser.id == owner.staff_id).values(role="staff"))
        uow.commit()
    staff_key = bearer(token)
    assert client.get("/api/v1/merchant/products", headers=staff_key).status_code == 200
    for method, path, body in (("POST", "/api/v1/merchant/staff", {"email": "x@key-roles.example", "password": PASSWORD}),
                               ("POST", "/api/v1/merchant/staff", {"email": "y@key-roles.example", "password": PASSWORD, "role": "owner"}),
                               ("POST", "/api/v1/merchant/api-keys", {"name": "more"}),
                               ("DELETE", f"/api/v1/merchant/api-keys/{key.id}", None)):
        assert client.open(path, method=method, json=body, headers=staff_key).status_code == 403, (method, path, body)


def test_the_key_list_shows_who_made_what_and_what_is_revoked(client, router, owner):
    first, token = api_keys.create(router=router, principal=owner, name="first")
    second = client.post("/api/v1/merchant/api-keys", json={"name": "second"}, headers=bearer(token)).get_json()
    api_keys.revoke(router=router, principal=owner, key_id=first.id)
    assert client.get("/api/v1/merchant/settings", headers=bearer(token)).status_code == 401
    owner_client_key = bearer(api_keys.create(router=router, principal=owner, name="viewer")[1])
    listed = {k["name"]: k for k in client.get("/api/v1/merchant/api-keys", headers=owner_client_key).get_json()}
    assert listed["first"]["created_by_staff_id"] == owner.staff_id and listed["first"]["created_by_key_id"] is None
    assert listed["first"]["revoked_at"] is not None and listed["first"]["role"] == "owner"
    assert listed["second"]["created_by_key_id"] == first.id and listed["second"]["revoked_at"] is None
    assert second["id"] == listed["second"]["id"]


def test_a_key_revoked_by_another_process_is_refused_within_the_cache_time(database_config, client, router, owner):
    key, token = api_keys.create(router=router, principal=owner, name="cached")
    with separate_app(database_config, CPU_PRINCIPAL_CACHE_SECONDS="0.5") as this:
        here = this.test_client()
        assert here.get("/api/v1/merchant/settings", headers=bearer(token)).status_code == 200  # now cached here
        api_keys.revoke(router=router, principal=owner, key_id=key.id)  # in another process
        time.sleep(0.6)
        assert here.get("/api/v1/merchant/settings", headers=bearer(token)).status_code == 401


def test_a_cached_key_costs_no_statement_and_a_wrong_secret_is_still_refused(router, owner):
    key, token = api_keys.create(router=router, principal=owner, name="hot")
    api_keys.authenticate(router=router, token=token)
    statements = []
    engines = [engine for name in router.database_names for engine in router.engines_of(name)]
    counter = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    for engine in engines:
        event.listen(engine, "before_cursor_execute", counter)
    try:
        assert api_keys.authenticate(router=router, token=token).api_key_id == key.id
        assert statements == []
        with pytest.raises(api_keys.NotAuthenticated):
            api_keys.authenticate(router=router, token=token[:-2] + "xx")
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", counter)


def test_api_keys_are_capped_per_merchant(database_config, owner):
    with separate_app(database_config, CPU_MAX_API_KEYS="2") as capped:
        capped_router = capped.extensions["cpu"].router
        made = [api_keys.create(router=capped_router, principal=owner, name=f"k{n}")[0] for n in range(2)]
        client = capped.test_client()
        api_keys.revoke(router=capped_router, principal=owner, key_id=made[1].id)  # a revoked key frees its place
        _, token = api_keys.create(router=capped_router, principal=owner, name="k2")
        refused = client.post("/api/v1/merchant/api-keys", json={"name": "one too many"}, headers=bearer(token))
        assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
        assert "CPU_MAX_API_KEYS" in refused.get_json()["detail"] and "2" in refused.get_json()["detail"]


def test_staff_users_are_capped_per_merchant(database_config, owner):
    with separate_app(database_config, CPU_MAX_STAFF_USERS="2") as capped:
        capped_router = capped.extensions["cpu"].router
        _, token = api_keys.create(router=capped_router, principal=owner, name="hr")
        client = capped.test_client()
        body = {"email": "second@key-roles.example", "password": PASSWORD}
        assert client.post("/api/v1/merchant/staff", json=body, headers=bearer(token)).status_code == 201
        refused = client.post("/api/v1/merchant/staff", json={**body, "email": "third@key-roles.example"}, headers=bearer(token))
        assert refused.status_code == 409 and "CPU_MAX_STAFF_USERS" in refused.get_json()["detail"]
        third = post_form(capped.test_client(), "/dashboard/signin", {"email": "third@key-roles.example", "password": PASSWORD})
        assert third.status_code == 422
