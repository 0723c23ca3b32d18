"""Every merchant endpoint, called as an owner, as a staff user and with a revoked key.

The endpoints come from the app's url_map and must all be in EXPECTED, so an endpoint added
later cannot be forgotten: it fails here until someone says who may use it.
"""

from __future__ import annotations

import uuid

import pytest

from marketplace.merchants import accounts, api_keys
from tests.api.test_merchant_api import merchant_routes, product_body
from tests.api.test_storefront_pages import PASSWORD, post_form
from tests.support.buyers import open_company
from tests.support.shop import placed_order

OWNER_ONLY = 403
# (method, rule) -> the status an owner gets; staff get the same unless it is OWNER_ONLY.
EXPECTED = {
    ("GET", "/api/v1/merchant/settings"): (200, "shared"),
    ("PATCH", "/api/v1/merchant/settings"): (200, "owner"),
    ("GET", "/api/v1/merchant/staff"): (200, "owner"),
    ("POST", "/api/v1/merchant/staff"): (201, "owner"),
    ("GET", "/api/v1/merchant/api-keys"): (200, "owner"),
    ("POST", "/api/v1/merchant/api-keys"): (201, "owner"),
    ("DELETE", "/api/v1/merchant/api-keys/<key_id>"): (200, "owner"),
    ("GET", "/api/v1/merchant/products"): (200, "shared"),
    ("POST", "/api/v1/merchant/products"): (201, "shared"),
    ("GET", "/api/v1/merchant/products/<product_id>"): (200, "shared"),
    ("PUT", "/api/v1/merchant/products/<product_id>"): (200, "shared"),
    ("DELETE", "/api/v1/merchant/products/<product_id>"): (204, "shared"),
    ("GET", "/api/v1/merchant/price-lists"): (200, "shared"),
    ("POST", "/api/v1/merchant/price-lists"): (201, "shared"),
    ("DELETE", "/api/v1/merchant/price-lists/<price_list_id>"): (204, "shared"),
    ("GET", "/api/v1/merchant/variants/<variant_id>/quote"): (200, "shared"),
    ("GET", "/api/v1/merchant/companies/<company_id>"): (200, "shared"),
    # Counting stock is the daily work of whoever is at the shelf: staff may, as they edit products.
    ("GET", "/api/v1/merchant/variants/<variant_id>/stock"): (200, "shared"),
    ("PUT", "/api/v1/merchant/variants/<variant_id>/stock/<location>"): (200, "shared"),
    ("GET", "/api/v1/merchant/webhooks"): (200, "owner"),
    ("GET", "/api/v1/merchant/balance"): (200, "owner"),  # the business's money
    ("POST", "/api/v1/merchant/webhooks"): (201, "owner"),
    ("DELETE", "/api/v1/merchant/webhooks/<webhook_id>"): (204, "owner"),
    ("GET", "/api/v1/merchant/webhooks/<webhook_id>/deliveries"): (200, "owner"),
    # Orders are fulfilled by whoever packs them: staff read and move them as owners do.
    ("GET", "/api/v1/merchant/orders"): (200, "shared"),
    ("GET", "/api/v1/merchant/orders/<order_id>"): (200, "shared"),
    ("PUT", "/api/v1/merchant/orders/<order_id>/state"): (200, "shared"),
    # Terms of trade (the return window, credit to a company) are the owner's, as settings are.
    ("GET", "/api/v1/merchant/order-settings"): (200, "shared"),
    ("PUT", "/api/v1/merchant/order-settings"): (200, "owner"),
    ("GET", "/api/v1/merchant/net-terms"): (200, "shared"),
    ("PUT", "/api/v1/merchant/net-terms/<company_id>"): (200, "owner"),
    ("DELETE", "/api/v1/merchant/net-terms/<company_id>"): (204, "owner"),
    # How the merchant is paid is no secret among its staff; connecting a Stripe account is the
    # owner's (a bank-transfer merchant, as this one in JM, is then told 409: Stripe does not reach it).
    ("GET", "/api/v1/merchant/payouts/rail"): (200, "shared"),
    ("POST", "/api/v1/merchant/payouts/stripe-onboarding"): (409, "owner"),
    # Parcels too: whoever packs the order makes its parcels, prints labels and hands them over.
    ("GET", "/api/v1/merchant/orders/<order_id>/shipments"): (200, "shared"),
    ("POST", "/api/v1/merchant/orders/<order_id>/shipments"): (201, "shared"),
    ("POST", "/api/v1/merchant/orders/<order_id>/returns"): (409, "shared"),  # allowed; the walk's order is not delivered
    ("GET", "/api/v1/merchant/shipments/exceptions"): (200, "shared"),
    ("GET", "/api/v1/merchant/shipments/<shipment_id>"): (200, "shared"),
    ("GET", "/api/v1/merchant/shipments/<shipment_id>/label"): (200, "shared"),
    # Customs papers as the label: allowed; the walk's parcel stays in Jamaica, so it needs none.
    ("GET", "/api/v1/merchant/shipments/<shipment_id>/customs-form"): (409, "shared"),
    ("GET", "/api/v1/merchant/shipments/<shipment_id>/advance-data"): (409, "shared"),
    ("POST", "/api/v1/merchant/shipments/<shipment_id>/hand-over"): (200, "shared"),
}
WEBHOOK = {"url": "http://127.0.0.1:9/hooks", "events": ["orders.created"]}


@pytest.fixture
def shop(router):
    """An owner (with an owner key), a staff user added by the owner, and a revoked owner key."""
    owner = accounts.sign_up(router=router, trading_name="Role Walk", legal_name="Role Walk Ltd", home_country="JM",
                             email="owner@role-walk.example", password=PASSWORD, handle="role-walk")
    accounts.add_staff(router=router, principal=owner, email="staff@role-walk.example", password=PASSWORD)
    _, token = api_keys.create(router=router, principal=owner, name="owner key")
    revoked, revoked_token = api_keys.create(router=router, principal=owner, name="leaked")
    api_keys.revoke(router=router, principal=owner, key_id=revoked.id)
    return owner, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {revoked_token}"}


def signed_in(app, email):
    client = app.test_client()
    assert post_form(client, "/dashboard/signin", {"email": email, "password": PASSWORD}).status_code == 303
    return client


def fresh_objects(client, owner_auth, *, webhook=False, key=False, shipment=False):
    """New objects for each call, so a DELETE walked earlier leaves the later calls something
    (a webhook or an API key only where the call needs one: a merchant has at most ten
    webhooks and 25 keys)."""
    product = client.post("/api/v1/merchant/products", json=product_body(ref=f"p-{uuid.uuid4().hex[:8]}",
                          sku_prefix=uuid.uuid4().hex[:6].upper()), headers=owner_auth)
    assert product.status_code == 201, product.get_json()
    company_id = open_company(client.application.extensions["cpu"].router, f"Hotel {uuid.uuid4().hex[:8]}")
    granted = client.put(f"/api/v1/merchant/net-terms/{company_id}", headers=owner_auth, json={"days": 30})
    assert granted.status_code == 200, granted.get_json()
    price_list = client.post("/api/v1/merchant/price-lists", headers=owner_auth,
                             json={"name": "L", "company_ids": [company_id], "percent_off_bp": 100}).get_json()
    product = product.get_json()
    owner = client.get("/api/v1/merchant/settings", headers=owner_auth).get_json()
    order_id = placed_order(client.application.extensions["cpu"].router, owner["id"], owner["region"], state="paid")
    owned = {"product_id": product["id"], "variant_id": product["variants"][0]["id"], "order_id": order_id,
             "price_list_id": price_list["id"], "company_id": company_id, "location": "KGN"}
    if key:
        owned["key_id"] = client.post("/api/v1/merchant/api-keys", json={"name": "to revoke"}, headers=owner_auth).get_json()["id"]
    if shipment:
        owned["shipment_id"] = client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=owner_auth,
                                           json={"weight_g": 500}).get_json()["id"]
    if webhook:
        owned["webhook_id"] = client.post("/api/v1/merchant/webhooks", json=WEBHOOK, headers=owner_auth).get_json()["id"]
    return owned, product


def call(client, rule, method, owned, product, headers):
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<{name}>", owned[name])
    bodies = {
        "/settings": {"name": "Role Walk"},
        "/staff": {"email": f"{uuid.uuid4().hex[:8]}@role-walk.example", "password": PASSWORD},
        "/api-keys": {"name": "another"},
        "/products": product_body(ref=f"n-{uuid.uuid4().hex[:8]}", sku_prefix=uuid.uuid4().hex[:6].upper()),
        "/price-lists": {"name": "M", "company_ids": [owned["company_id"]], "percent_off_bp": 200},
        "/webhooks": WEBHOOK,
        "/stripe-onboarding": {},
        "/shipments": {"weight_g": 500},
        "/returns": {"weight_g": 500},
        "/hand-over": {},
    }
    body = None
    if method in ("POST", "PATCH"):
        body = next(b for suffix, b in bodies.items() if path.endswith(suffix))
    elif method == "PUT" and "/stock/" in path:
        body = {"on_hand": 7}
    elif method == "PUT" and path.endswith("/state"):
        body = {"state": "cancelled"}
    elif method == "PUT" and path.endswith("/order-settings"):
        body = {"return_window_days": 21}
    elif method == "PUT" and "/net-terms/" in path:
        body = {"days": 60}
    elif method == "PUT":
        body = product_body(ref=product["ref"], sku_prefix=product["variants"][0]["sku"].split("-")[0])
    query = "?quantity=1" if path.endswith("/quote") else ""
    extra = {}
    if method in ("PUT", "DELETE") and "/products/" in path:  # a revision check, where there is one
        etag = client.get(path, headers=headers).headers.get("ETag")
        extra = {"If-Match": etag} if etag else {}
    return client.open(path + query, method=method, json=body, headers={**headers, **extra})


def test_the_walk_names_every_merchant_endpoint(app):
    walked = {(method, rule.rule) for rule, method in merchant_routes(app)}
    assert walked == set(EXPECTED), walked ^ set(EXPECTED)


@pytest.mark.parametrize("caller", ["owner key", "owner session", "staff session", "revoked key"])
def test_each_merchant_endpoint_answers_each_role_as_expected(app, client, shop, caller):
    _, owner_auth, revoked_auth = shop
    if caller.endswith("session"):
        caller_client = signed_in(app, f"{caller.split()[0]}@role-walk.example")
        headers = {}
    else:
        caller_client, headers = client, owner_auth if caller == "owner key" else revoked_auth
    answers = {}
    for rule, method in merchant_routes(app):
        owned, product = fresh_objects(client, owner_auth, webhook="webhook_id" in rule.arguments,
                                           key="key_id" in rule.arguments, shipment="shipment_id" in rule.arguments)
        answers[(method, rule.rule)] = call(caller_client, rule, method, owned, product, headers).status_code
    expected = {}
    for endpoint, (status, who) in EXPECTED.items():
        if caller == "revoked key":
            expected[endpoint] = 401
        elif caller == "staff session" and who == "owner":
            expected[endpoint] = OWNER_ONLY
        else:
            expected[endpoint] = status
    assert answers == expected


def test_what_staff_were_refused_changed_nothing(app, client, shop):
    owner, owner_auth, _ = shop
    staff = signed_in(app, "staff@role-walk.example")
    key_ids = {k["id"] for k in client.get("/api/v1/merchant/api-keys", headers=owner_auth).get_json()}
    assert staff.patch("/api/v1/merchant/settings", json={"name": "Hijacked"}).status_code == 403
    assert staff.post("/api/v1/merchant/staff", json={"email": "mole@role-walk.example", "password": PASSWORD,
                                                      "role": "owner"}).status_code == 403
    assert staff.post("/api/v1/merchant/api-keys", json={"name": "mine"}).status_code == 403
    some_key = sorted(key_ids)[0]
    assert staff.delete(f"/api/v1/merchant/api-keys/{some_key}").status_code == 403
    assert staff.post("/api/v1/merchant/webhooks", json=WEBHOOK).status_code == 403
    assert client.get("/api/v1/merchant/webhooks", headers=owner_auth).get_json() == []
    assert client.get("/api/v1/merchant/settings", headers=owner_auth).get_json()["name"] == "Role Walk"
    assert len(accounts.list_staff(router=app.extensions["cpu"].router, principal=owner)) == 2
    listed = client.get("/api/v1/merchant/api-keys", headers=owner_auth).get_json()
    assert {k["id"] for k in listed} == key_ids and all(k["revoked_at"] is None or k["name"] == "leaked" for k in listed)


def test_staff_cannot_open_the_dashboards_api_key_page(app, shop):
    staff = signed_in(app, "staff@role-walk.example")
    assert staff.get("/dashboard/api-keys").status_code == 403
    assert staff.get("/dashboard/webhooks").status_code == 403
    assert staff.get("/dashboard/balance").status_code == 403
