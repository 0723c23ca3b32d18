"""Every buyer endpoint, walked two ways:

- the tenant walk: another buyer's token (the admin of another company) on this buyer's and
  this company's objects answers 404 and shows nothing of them;
- the role walk: each company role (admin, approver, buyer) and a buyer of no company over
  every endpoint, with the status each must get.

The endpoints come from the app's url_map and must all be in EXPECTED, so an endpoint added
later fails here until someone says who may use it."""

from __future__ import annotations

import uuid

import pytest

from marketplace.buyers import accounts, addresses, companies, tokens
from marketplace.buyers.principal import BuyerPrincipal
from tests.support.buyers import PASSWORD, sign_up_body

CALLERS = ("admin", "approver", "buyer", "personal")
ALL = dict.fromkeys(CALLERS)
# (method, rule) -> status per caller: admin, approver, buyer, a buyer of no company
EXPECTED = {
    ("GET", "/api/v1/buyer/profile"): (200, 200, 200, 200),
    ("PATCH", "/api/v1/buyer/profile"): (200, 200, 200, 200),
    ("DELETE", "/api/v1/buyer/session"): (204, 204, 204, 204),
    ("DELETE", "/api/v1/buyer/sessions"): (204, 204, 204, 204),
    ("GET", "/api/v1/buyer/addresses"): (200, 200, 200, 200),
    ("POST", "/api/v1/buyer/addresses"): (201, 201, 201, 201),
    ("GET", "/api/v1/buyer/addresses/<address_id>"): (200, 200, 200, 200),
    ("DELETE", "/api/v1/buyer/addresses/<address_id>"): (204, 204, 204, 204),
    ("GET", "/api/v1/buyer/company"): (200, 200, 200, 404),
    ("GET", "/api/v1/buyer/company/users"): (200, 200, 403, 404),
    ("POST", "/api/v1/buyer/company/users"): (201, 403, 403, 404),
    ("PATCH", "/api/v1/buyer/company/users/<user_id>"): (200, 403, 403, 404),
    ("DELETE", "/api/v1/buyer/company/users/<user_id>"): (204, 403, 403, 404),
    ("GET", "/api/v1/buyer/company/addresses"): (200, 200, 200, 404),
    ("POST", "/api/v1/buyer/company/addresses"): (201, 403, 403, 404),
    ("DELETE", "/api/v1/buyer/company/addresses/<address_id>"): (204, 403, 403, 404),
}
ADDRESS = {"recipient": "Receiving", "line1": "1 Harbour Street", "city": "Kingston", "country": "JM"}


def buyer_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("buyer."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _open(router, name: str, *, company: str | None = None):
    body = sign_up_body(name, "JM", company=company)
    return accounts.sign_up(router=router, email=body["email"], password=PASSWORD, name=name, home_country="JM",
                            company=body.get("company"))


def _principal(buyer) -> BuyerPrincipal:
    return BuyerPrincipal(buyer_id=buyer.id, region=buyer.region, country=buyer.home_country, language=buyer.language,
                          currency=buyer.currency, company_id=buyer.company_id, company_role=buyer.company_role)


def auth(router, buyer) -> dict[str, str]:
    """A new device's access token (minted directly: the API's sign-in is throttled)."""
    return {"Authorization": f"Bearer {tokens.start(router=router, buyer_id=buyer.id, region=buyer.region).access_token}"}


@pytest.fixture
def firm(router):
    """Company A with an admin, an approver and a buyer, and a buyer of no company."""
    admin = _open(router, "Alice Admin", company="Harbour Hotels")
    people = {"admin": admin}
    for role in ("approver", "buyer"):
        people[role] = companies.add_user(router=router, principal=_principal(admin), email=f"{role}@harbour.example",
                                          password=PASSWORD, name=f"A {role}", role=role)
    people["personal"] = _open(router, "Pat Personal")
    return people


def fresh_objects(router, people, caller) -> dict[str, str]:
    """New objects for each call, so a DELETE walked earlier leaves the later calls something:
    the caller's own address, a company address and a company user."""
    admin = _principal(people["admin"])
    own = addresses.add(router=router, region="kin", owner_id=people[caller].id, data=ADDRESS)
    firm_address = companies.add_address(router=router, principal=admin, data=ADDRESS)
    user = companies.add_user(router=router, principal=admin, email=f"{uuid.uuid4().hex[:10]}@harbour.example",
                              password=PASSWORD, name="Temp", role="buyer")
    return {"own_address": own.id, "company_address": firm_address.id, "user_id": user.id}


def call(client, rule, method, owned, headers):
    path = rule.rule.replace("<user_id>", owned["user_id"])
    path = path.replace("<address_id>", owned["company_address" if "/company/" in path else "own_address"])
    bodies = {
        "/profile": {"name": "Renamed"},
        "/addresses": {**ADDRESS, "line1": "9 Other Lane"},
        "/users": {"email": f"{uuid.uuid4().hex[:10]}@harbour.example", "password": PASSWORD, "name": "New"},
        "users/<user_id>": {"role": "approver"},
    }
    body = None
    if method in ("POST", "PATCH"):
        body = next(b for suffix, b in bodies.items() if rule.rule.endswith(suffix))
    return client.open(path, method=method, json=body, headers=headers)


def test_the_walk_names_every_buyer_endpoint(app):
    walked = {(method, rule.rule) for rule, method in buyer_routes(app)}
    assert walked == set(EXPECTED), walked ^ set(EXPECTED)


@pytest.mark.parametrize("caller", CALLERS)
def test_each_buyer_endpoint_answers_each_company_role_as_expected(app, client, router, firm, caller):
    answers, expected = {}, {}
    for rule, method in buyer_routes(app):
        owned = fresh_objects(router, firm, caller)
        answers[(method, rule.rule)] = call(client, rule, method, owned, auth(router, firm[caller])).status_code
        expected[(method, rule.rule)] = EXPECTED[(method, rule.rule)][CALLERS.index(caller)]
    assert answers == expected


def test_another_buyers_token_finds_none_of_this_buyers_or_companys_objects(app, client, router, firm):
    stranger = _open(router, "Sam Stranger", company="Other Hotels")
    owned = fresh_objects(router, firm, "admin")
    secrets_of_a = [*owned.values(), firm["admin"].id, firm["admin"].email, firm["admin"].company_id, "Harbour Hotels",
                    "Alice Admin", "1 Harbour Street", *(person.email for person in firm.values())]
    walked = 0
    for rule, method in buyer_routes(app):
        headers = auth(router, stranger)
        response = call(client, rule, method, owned, headers)
        walked += 1
        text = response.get_data(as_text=True)
        if rule.arguments:
            assert response.status_code == 404, (method, rule.rule, response.status_code)
            named = {owned["user_id"] if "user_id" in rule.arguments else
                     owned["company_address" if "/company/" in rule.rule else "own_address"]}
            leaked = [value for value in secrets_of_a if value in text and value not in named]  # the id it was asked for
        else:
            leaked = [value for value in secrets_of_a if value in text]
        assert not leaked, (method, rule.rule, leaked)
        assert client.open(rule.rule, method=method, json={} if method in ("POST", "PATCH") else None).status_code == 401
    assert walked == len(EXPECTED)

    admin = auth(router, firm["admin"])  # nothing of A changed
    assert client.get(f"/api/v1/buyer/addresses/{owned['own_address']}", headers=admin).status_code == 200
    users = {u["id"]: u["role"] for u in client.get("/api/v1/buyer/company/users", headers=admin).get_json()}
    assert users[owned["user_id"]] == "buyer"
    assert owned["company_address"] in {a["id"] for a in client.get("/api/v1/buyer/company/addresses", headers=admin).get_json()}


def test_a_company_keeps_its_last_admin(client, router, firm):
    admin = auth(router, firm["admin"])
    demoted = client.patch(f"/api/v1/buyer/company/users/{firm['admin'].id}", json={"role": "buyer"}, headers=admin)
    assert demoted.status_code == 409
    assert client.delete(f"/api/v1/buyer/company/users/{firm['admin'].id}", headers=admin).status_code == 409
    promoted = client.patch(f"/api/v1/buyer/company/users/{firm['approver'].id}", json={"role": "admin"}, headers=admin)
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "admin"
    assert client.patch(f"/api/v1/buyer/company/users/{firm['admin'].id}", json={"role": "buyer"}, headers=admin).status_code == 200


def test_a_role_change_counts_on_the_next_request_of_a_signed_in_user(client, router, firm):
    buyer = auth(router, firm["buyer"])
    assert client.get("/api/v1/buyer/company/users", headers=buyer).status_code == 403
    admin = auth(router, firm["admin"])
    assert client.patch(f"/api/v1/buyer/company/users/{firm['buyer'].id}", json={"role": "approver"},
                        headers=admin).status_code == 200
    assert client.get("/api/v1/buyer/company/users", headers=buyer).status_code == 200
    assert client.delete(f"/api/v1/buyer/company/users/{firm['buyer'].id}", headers=admin).status_code == 204
    assert client.get("/api/v1/buyer/company", headers=buyer).status_code == 404  # a buyer of no company now
    assert client.get("/api/v1/buyer/profile", headers=buyer).get_json()["company_id"] is None


def test_an_added_user_signs_in_with_their_own_email_and_it_is_taken(client, router, firm):
    added = client.post("/api/v1/buyer/tokens", json={"email": "approver@harbour.example", "password": PASSWORD})
    assert added.status_code == 200
    clash = client.post("/api/v1/buyers", json={**sign_up_body("X"), "email": "approver@harbour.example"})
    assert clash.status_code == 409
