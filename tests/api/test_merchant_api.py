"""The merchant JSON API: catalog, price lists, quotes, settings and keys; bad input; and a
walk over every merchant endpoint with another merchant's key."""

import json
import re
import threading

import pytest

from marketplace.merchants import accounts, api_keys
from tests.support.buyers import open_company


def product_body(ref="coffee-1kg", sku_prefix="BM", **changes):
    body = {
        "ref": ref,
        "category": "food/coffee",
        "title": {"en": "Blue Mountain coffee, roasted beans", "es": "Café Blue Mountain, granos tostados"},
        "description": {"en": "Grown above 1,500 m in Jamaica's Blue Mountains."},
        "visibility": "public",
        "variants": [
            {"sku": f"{sku_prefix}-250", "options": {"size": "250 g"}, "base_price": 4500,
             "tiers": [{"min_quantity": 12, "unit_price": 4200}, {"min_quantity": 144, "unit_price": 3900}],
             "moq": 1, "case_pack": 1, "hs_code": "090121", "origin_country": "JM",
             "weight_g": 260, "length_mm": 80, "width_mm": 60, "height_mm": 180, "stock": {"KGN": 500}},
            {"sku": f"{sku_prefix}-1KG", "options": {"size": "1 kg"}, "base_price": 15000, "tiers": [],
             "moq": 6, "case_pack": 6, "hs_code": "090121", "origin_country": "JM",
             "weight_g": 1030, "length_mm": 120, "width_mm": 90, "height_mm": 250, "stock": {"KGN": 60}},
        ],
    }
    body.update(changes)
    return body


def merchant(router, name, country):
    principal = accounts.sign_up(router=router, trading_name=name, legal_name=f"{name} Ltd", home_country=country,
                                 email=f"owner@{name.lower().replace(' ', '-')}.example", password="correct horse battery",
                                 handle=name.lower().replace(" ", "-"))
    _, token = api_keys.create(router=router, principal=principal, name="tests")
    return principal, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def two_merchants(router):
    return merchant(router, "Kingston Roasters", "JM"), merchant(router, "Fort Rhum", "MQ")


@pytest.fixture
def company(router) -> str:
    """A buyer company that price lists can name."""
    return open_company(router)


def test_a_merchant_manages_its_catalog_through_the_api(client, two_merchants):
    (principal, auth), _ = two_merchants
    created = client.post("/api/v1/merchant/products", json=product_body(), headers=auth)
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    assert product["id"].startswith("prd_") and [v["currency"] for v in product["variants"]] == ["JMD", "JMD"]

    listing = client.get("/api/v1/merchant/products", headers=auth).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == product["id"]

    replaced = client.put(f"/api/v1/merchant/products/{product['id']}",
                          json=product_body(title={"en": "Blue Mountain, medium roast"}), headers=auth)
    assert replaced.status_code == 200 and replaced.get_json()["title"] == {"en": "Blue Mountain, medium roast"}

    assert client.delete(f"/api/v1/merchant/products/{product['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/merchant/products/{product['id']}", headers=auth).status_code == 404


def test_quotes_apply_tiers_moq_and_contract_prices(client, two_merchants, company):
    (_, auth), _ = two_merchants
    product = client.post("/api/v1/merchant/products", json=product_body(), headers=auth).get_json()
    small, case = product["variants"][1], product["variants"][0]  # ordered by SKU: BM-1KG, BM-250
    quote = client.get(f"/api/v1/merchant/variants/{case['id']}/quote?quantity=144", headers=auth).get_json()
    assert (quote["unit_price"], quote["total"], quote["rule"]) == (3900, 3900 * 144, "tier")
    refused = client.get(f"/api/v1/merchant/variants/{small['id']}/quote?quantity=4", headers=auth)
    assert refused.status_code == 422 and "quantity" in refused.get_json()["errors"]

    price_list = client.post("/api/v1/merchant/price-lists", headers=auth, json={
        "name": "Hotel contract", "company_ids": [company], "contract_prices": {case["id"]: 3500}})
    assert price_list.status_code == 201
    contract = client.get(f"/api/v1/merchant/variants/{case['id']}/quote?quantity=12&company_id={company}", headers=auth).get_json()
    assert (contract["unit_price"], contract["rule"]) == (3500, "contract")


BAD_PRODUCTS = [
    ("negative price", lambda b: b["variants"][0].update(base_price=-1), "variants.0.base_price"),
    ("tiers out of order", lambda b: b["variants"][0].update(tiers=[{"min_quantity": 144, "unit_price": 3900}, {"min_quantity": 12, "unit_price": 4200}]), "variants.0.tiers"),
    ("MOQ not a multiple of the case pack", lambda b: b["variants"][1].update(moq=8), "variants.1.moq"),
    ("HS code of the wrong shape", lambda b: b["variants"][0].update(hs_code="0901"), "variants.0.hs_code"),
    ("HS code with letters", lambda b: b["variants"][0].update(hs_code="09012A"), "variants.0.hs_code"),
    ("unknown origin country", lambda b: b["variants"][0].update(origin_country="XX"), "variants.0.origin_country"),
    ("unknown category", lambda b: b.update(category="food/unicorns"), "category"),
    ("unknown language", lambda b: b.update(title={"de": "Kaffee"}), "title.de"),
    ("duplicate SKUs", lambda b: b["variants"][1].update(sku="BM-250"), "variants"),
    ("price as a float", lambda b: b["variants"][0].update(base_price=45.5), "variants.0.base_price"),
    ("no variants", lambda b: b.update(variants=[]), "variants"),
]


@pytest.mark.parametrize(("case", "spoil", "field"), BAD_PRODUCTS, ids=[c[0] for c in BAD_PRODUCTS])
def test_a_bad_product_is_refused_naming_the_field_and_nothing_is_written(client, two_merchants, case, spoil, field):
    (_, auth), _ = two_merchants
    body = product_body()
    spoil(body)
    response = client.post("/api/v1/merchant/products", json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    assert client.get("/api/v1/merchant/products", headers=auth).get_json()["total"] == 0


def test_a_five_megabyte_description_is_refused_before_it_is_read(client, two_merchants):
    (_, auth), _ = two_merchants
    body = json.dumps(product_body(description={"en": "x" * 5_000_000}))
    response = client.post("/api/v1/merchant/products", data=body, content_type="application/json", headers=auth)
    assert response.status_code == 413 and "body" in response.get_json()["errors"]


def test_an_unknown_currency_in_settings_is_refused(client, two_merchants):
    (_, auth), _ = two_merchants
    response = client.patch("/api/v1/merchant/settings", json={"default_currency": "ZZZ"}, headers=auth)
    assert response.status_code == 422 and "default_currency" in response.get_json()["errors"]
    assert client.get("/api/v1/merchant/settings", headers=auth).get_json()["default_currency"] == "JMD"


def test_api_keys_are_shown_once_stored_hashed_and_revocable(client, router, two_merchants):
    (principal, auth), _ = two_merchants
    made = client.post("/api/v1/merchant/api-keys", json={"name": "warehouse"}, headers=auth).get_json()
    token = made["token"]
    assert token.startswith("cpu.key_")
    listed = client.get("/api/v1/merchant/api-keys", headers=auth).get_json()
    assert all("token" not in key for key in listed)
    assert token.split(".")[2] not in json.dumps([k.secret_digest for k in api_keys.list_(router=router, principal=principal)])

    use = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/merchant/settings", headers=use).status_code == 200
    [warehouse] = [k for k in client.get("/api/v1/merchant/api-keys", headers=auth).get_json() if k["name"] == "warehouse"]
    assert warehouse["last_used_at"] is not None

    assert client.delete(f"/api/v1/merchant/api-keys/{made['id']}", headers=auth).status_code == 200
    refused = client.get("/api/v1/merchant/settings", headers=use)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"


@pytest.mark.parametrize("header", ["", "Bearer nonsense", "Bearer cpu.key_01M8A0000000000000000000AB.wrong", "Basic dXNlcjpwdw=="])
def test_requests_without_a_valid_key_are_refused(client, header):
    response = client.get("/api/v1/merchant/products", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def merchant_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/merchant/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_another_merchants_key_finds_none_of_this_merchants_objects(app, client, two_merchants, company):
    """Walks every merchant endpoint, so an endpoint added later is walked too."""
    (_, owner), (_, stranger) = two_merchants
    product = client.post("/api/v1/merchant/products", json=product_body(), headers=owner).get_json()
    variant_id = product["variants"][0]["id"]
    price_list = client.post("/api/v1/merchant/price-lists", headers=owner,
                             json={"name": "Owner list", "company_ids": [company], "percent_off_bp": 500}).get_json()
    key = client.post("/api/v1/merchant/api-keys", json={"name": "owner key"}, headers=owner).get_json()
    from tests.support.shop import placed_order  # (shop builds on this module's merchant and product_body)

    owner_merchant = client.get("/api/v1/merchant/settings", headers=owner).get_json()
    order_id = placed_order(app.extensions["cpu"].router, owner_merchant["id"], owner_merchant["region"])
    assert client.put(f"/api/v1/merchant/net-terms/{company}", headers=owner, json={"days": 60}).status_code == 200
    assert client.put("/api/v1/merchant/order-settings", headers=owner, json={"return_window_days": 20}).status_code == 200
    webhook = client.post("/api/v1/merchant/webhooks", headers=owner,
                          json={"url": "http://127.0.0.1:9/hooks", "events": ["orders.created"]}).get_json()
    paid_id = placed_order(app.extensions["cpu"].router, owner_merchant["id"], owner_merchant["region"], state="paid")
    parcel = client.post(f"/api/v1/merchant/orders/{paid_id}/shipments", headers=owner, json={"weight_g": 500}).get_json()
    owned = {"product_id": product["id"], "variant_id": variant_id, "price_list_id": price_list["id"], "key_id": key["id"],
             "order_id": order_id, "webhook_id": webhook["id"], "shipment_id": parcel["id"],
             "company_id": "cmp_01M8A0000000000000000000ZZ"}  # no company: a merchant may look up any that exists
    in_paths = {**owned, "location": "KGN"}  # a stock location's name is no secret: not looked for as a leak
    bodies = {"POST": product_body(ref="stranger", sku_prefix="ST"), "PUT": product_body(), "PATCH": {"name": "Hijacked"}}

    walked = 0
    for rule, method in merchant_routes(app):
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", in_paths[name])
        query = "?quantity=1" if path.endswith("/quote") else ""
        special = {"/api-keys": {"name": "stranger key"}, "/price-lists": {"name": "L", "company_ids": [company], "percent_off_bp": 100},
                   "/staff": {"email": "new@stranger.example", "password": "a long password"}, "/stock/KGN": {"on_hand": 1},
                   "/webhooks": {"url": "http://127.0.0.1:9/stranger", "events": ["orders.created"]},
                   "/state": {"state": "cancelled"}, "/order-settings": {"return_window_days": 3},
                   f"/net-terms/{in_paths['company_id']}": {"days": 30},
                   "/shipments": {"weight_g": 500}, "/returns": {"weight_g": 500}, "/hand-over": {}}
        body = next((b for suffix, b in special.items() if path.endswith(suffix)), bodies.get(method))
        response = client.open(path + query, method=method, json=body if method in bodies else None, headers=stranger)
        walked += 1
        if rule.arguments:
            assert response.status_code == 404, (method, rule.rule, response.status_code)
        else:
            text = response.get_data(as_text=True)
            leaked = [value for value in owned.values() if value in text]
            assert not leaked, (method, rule.rule, leaked)
        assert client.open(path + query, method=method, json=body if method in bodies else None).status_code == 401
    assert walked >= 10

    # and nothing of the owner's changed
    after = client.get(f"/api/v1/merchant/products/{product['id']}", headers=owner).get_json()
    assert after["title"] == product["title"]
    assert {v["sku"]: v["stock"] for v in after["variants"]} == {v["sku"]: v["stock"] for v in product["variants"]}
    assert client.get("/api/v1/merchant/settings", headers=owner).get_json()["name"] == "Kingston Roasters"
    assert any(k["id"] == key["id"] and k["revoked_at"] is None for k in client.get("/api/v1/merchant/api-keys", headers=owner).get_json())
    assert [h["id"] for h in client.get("/api/v1/merchant/webhooks", headers=owner).get_json()] == [webhook["id"]]
    assert [(g["company_id"], g["days"]) for g in client.get("/api/v1/merchant/net-terms", headers=owner).get_json()] == [(company, 60)]
    assert client.get("/api/v1/merchant/order-settings", headers=owner).get_json() == {"return_window_days": 20}


def test_merchant_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/merchant/products", "/api/v1/merchant/products/{product_id}", "/api/v1/merchant/price-lists",
                 "/api/v1/merchant/variants/{variant_id}/quote", "/api/v1/merchant/settings", "/api/v1/merchant/api-keys"):
        assert path in paths, path
    assert all(re.match(r"^[A-Z]", op["summary"]) for item in paths.values() for op in item.values() if isinstance(op, dict) and "summary" in op)


def test_an_owner_adds_staff_who_can_sign_in_but_not_add_staff(client, router, two_merchants):
    (principal, auth), _ = two_merchants
    added = client.post("/api/v1/merchant/staff", headers=auth,
                        json={"email": "Packer@Kingston-Roasters.example", "password": "packing all day", "role": "staff"})
    assert added.status_code == 201 and "password" not in added.get_json()
    staff = accounts.sign_in(router=router, email="packer@kingston-roasters.example", password="packing all day")
    assert (staff.merchant_id, staff.role) == (principal.merchant_id, "staff")
    with pytest.raises(Exception) as refused:
        accounts.add_staff(router=router, principal=staff, email="x@y.example", password="long enough pw")
    assert getattr(refused.value, "status", None) == 403
    again = client.post("/api/v1/merchant/staff", headers=auth, json={"email": "packer@kingston-roasters.example", "password": "another password"})
    assert again.status_code == 409
    assert [s["email"] for s in client.get("/api/v1/merchant/staff", headers=auth).get_json()] == [
        "owner@kingston-roasters.example", "packer@kingston-roasters.example"]


def test_a_retried_product_or_price_list_is_created_once(client, two_merchants, company):
    """The network failed after the write: the app sends the same request with the same key."""
    (_, auth), _ = two_merchants
    keyed = {**auth, "Idempotency-Key": "upload-7f3a"}
    first = client.post("/api/v1/merchant/products", json=product_body(), headers=keyed)
    again = client.post("/api/v1/merchant/products", json=product_body(), headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    product_id = first.get_json()["id"]
    assert again.get_json() == client.get(f"/api/v1/merchant/products/{product_id}", headers=auth).get_json()
    assert again.get_json()["id"] == product_id
    assert client.get("/api/v1/merchant/products", headers=auth).get_json()["total"] == 1

    price_list = {"name": "Hotels", "company_ids": [company], "percent_off_bp": 500}
    lists = [client.post("/api/v1/merchant/price-lists", json=price_list, headers={**auth, "Idempotency-Key": "pl-1"})
             for _ in range(2)]
    assert [r.status_code for r in lists] == [201, 201] and lists[0].get_json()["id"] == lists[1].get_json()["id"]
    assert len(client.get("/api/v1/merchant/price-lists", headers=auth).get_json()) == 1


def test_an_idempotency_key_reused_for_another_request_is_a_conflict(client, two_merchants):
    (_, auth), _ = two_merchants
    keyed = {**auth, "Idempotency-Key": "k-77"}
    assert client.post("/api/v1/merchant/products", json=product_body(), headers=keyed).status_code == 201
    other = client.post("/api/v1/merchant/products", json=product_body(ref="tea-1", sku_prefix="TEA"), headers=keyed)
    assert other.status_code == 409 and "Idempotency-Key" in other.get_json()["detail"]


def test_idempotency_keys_belong_to_one_merchant(client, two_merchants):
    """Another merchant's client picking the same key gets its own product, and learns nothing."""
    (_, first), (_, second) = two_merchants
    mine = client.post("/api/v1/merchant/products", json=product_body(), headers={**first, "Idempotency-Key": "same"})
    theirs = client.post("/api/v1/merchant/products", json=product_body(ref="rhum-1", sku_prefix="RH"),
                         headers={**second, "Idempotency-Key": "same"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_the_openapi_document_offers_idempotency_keys_on_creating_writes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/merchant/products", "/api/v1/merchant/price-lists"):
        assert "Idempotency-Key" in [p["name"] for p in paths[path]["post"].get("parameters", [])], path


def test_two_retries_racing_each_other_create_one_product(app, two_merchants):
    (_, auth), _ = two_merchants
    keyed = {**auth, "Idempotency-Key": "race-1"}
    start, answers = threading.Barrier(2), []

    def post():
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/merchant/products", json=product_body(), headers=keyed)
        answers.append((response.status_code, response.get_json().get("id")))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1] == answers[1][1]


def test_a_key_whose_product_was_deleted_says_so(client, two_merchants):
    (_, auth), _ = two_merchants
    keyed = {**auth, "Idempotency-Key": "gone-1"}
    product_id = client.post("/api/v1/merchant/products", json=product_body(), headers=keyed).get_json()["id"]
    assert client.delete(f"/api/v1/merchant/products/{product_id}", headers=auth).status_code == 204
    again = client.post("/api/v1/merchant/products", json=product_body(), headers=keyed)
    assert again.status_code == 409 and "deleted since" in again.get_json()["detail"]
    fresh = client.post("/api/v1/merchant/products", json=product_body(), headers={**auth, "Idempotency-Key": "gone-2"})
    assert fresh.status_code == 201
