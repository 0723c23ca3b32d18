"""The buyers' catalog (GET /api/v1/products/<id>, GET /api/v1/merchants/<id>/products): what a
buyer sees in their language and currency, the price they pay, what they may not see, ETags,
cursor pages, and the region a product lives in."""

from __future__ import annotations

import pytest
import schemathesis

from marketplace.catalog import public
from marketplace.catalog.buyer_context import BuyerContext
from marketplace.edge import METHOD_HEADER, REGION_HEADER, URI_HEADER
from marketplace.regions.router import DIRECTORY
from payments import fx
from tests.api.test_merchant_api import company, merchant, product_body  # noqa: F401 (company: a fixture)
from tests.support.buyers import bearer, sign_in, sign_up
from tests.support import databases


@pytest.fixture
def kingston(router):
    """A merchant homed in kin (Jamaica: JMD, English) and its API key's headers."""
    return merchant(router, "Kingston Roasters", "JM")


def add_product(client, auth, **changes) -> dict:
    created = client.post("/api/v1/merchant/products", json=product_body(**changes), headers=auth)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def read(client, product_id: str, query: str = "", **headers):
    return client.get(f"/api/v1/products/{product_id}{query}", headers=headers)


def test_texts_follow_lang_then_accept_language_then_the_merchants_default(client, kingston):
    _, auth = kingston
    product = add_product(client, auth, title={"en": "Blue Mountain coffee", "es": "Café Blue Mountain"},
                          description={"en": "Roasted in Kingston.", "es": "Tostado en Kingston."})
    spanish = read(client, product["id"], **{"Accept-Language": "de;q=1, es;q=0.8, en;q=0.5"})
    assert spanish.status_code == 200
    assert (spanish.get_json()["title"], spanish.get_json()["description"]) == ("Café Blue Mountain", "Tostado en Kingston.")
    assert (spanish.get_json()["language"], spanish.headers["Content-Language"]) == ("es", "es")
    asked = read(client, product["id"], "?lang=en", **{"Accept-Language": "es"})
    assert (asked.get_json()["title"], asked.headers["Content-Language"]) == ("Blue Mountain coffee", "en")
    unwritten = read(client, product["id"], **{"Accept-Language": "fr, nl;q=0.9"})
    assert (unwritten.get_json()["language"], unwritten.headers["Content-Language"]) == ("en", "en")  # the merchant's default


def test_prices_come_in_the_merchants_currency_and_the_buyers_with_rate_and_its_date(client, kingston):
    _, auth = kingston
    product = add_product(client, auth)
    body = read(client, product["id"], "?currency=USD").get_json()
    small = next(v for v in body["variants"] if v["sku"] == "BM-250")
    price = small["price"]
    assert (price["quantity"], price["unit_price"], price["currency"], price["rule"]) == (1, 4500, "JMD", "base")
    rates = fx.rates()
    assert price["display"] == {
        "currency": "USD", "unit_price": rates.convert(4500, "JMD", "USD"), "total": rates.convert(4500, "JMD", "USD"),
        "rate": "0.00630915", "rate_as_of": f"{rates.effective.isoformat()}T00:00:00+00:00"}
    assert price["display"]["unit_price"] == 28  # 45.00 JMD at 158.50 a dollar: 0.28 USD
    # no currency asked: the buyer's country's (Martinique: EUR)
    assert read(client, product["id"], "?country=MQ").get_json()["display_currency"] == "EUR"
    assert read(client, product["id"], "?country=CA").get_json()["display_currency"] == "CAD"  # outside the union
    assert read(client, product["id"], "?country=MQ&currency=USD").get_json()["display_currency"] == "USD"
    assert read(client, product["id"]).get_json()["display_currency"] == "JMD"


def test_moq_case_packs_tiers_and_stock_state(client, kingston):
    _, auth = kingston
    body = product_body()
    body["variants"][0]["stock"] = {"KGN": 4, "MBJ": 3}
    body["variants"][1]["stock"] = {}
    product = add_product(client, auth, variants=body["variants"])
    variants = {v["sku"]: v for v in read(client, product["id"]).get_json()["variants"]}
    case = variants["BM-1KG"]
    assert (case["moq"], case["case_pack"], case["price"]["quantity"], case["price"]["total"]) == (6, 6, 6, 90_000)
    assert case["stock"] == "out_of_stock" and variants["BM-250"]["stock"] == "low"  # 7 units left
    tiers = [(t["min_quantity"], t["price"]["unit_price"], t["price"]["rule"]) for t in variants["BM-250"]["tiers"]]
    assert tiers == [(12, 4200, "tier"), (144, 3900, "tier")]
    assert add_product(client, auth, ref="other", sku_prefix="OT")["id"]
    assert {v["stock"] for v in read(client, _ids(client, kingston)[-1]).get_json()["variants"]} == {"in_stock"}


def test_a_company_buyer_pays_its_contract_price_an_anonymous_one_the_list_price(client, router, kingston, company):
    _, auth = kingston
    product = add_product(client, auth)
    small = next(v for v in product["variants"] if v["sku"] == "BM-250")
    assert client.post("/api/v1/merchant/price-lists", headers=auth, json={
        "name": "Hotel contract", "company_ids": [company], "contract_prices": {small["id"]: 3500}}).status_code == 201
    anonymous = next(v for v in read(client, product["id"]).get_json()["variants"] if v["sku"] == "BM-250")
    assert (anonymous["price"]["unit_price"], anonymous["price"]["rule"]) == (4500, "base")
    hotel = public.product_for_buyer(router=router, product_id=product["id"], buyer=BuyerContext(company_id=company))
    contract = next(v for v in hotel["variants"] if v["sku"] == "BM-250")
    assert (contract["price"]["unit_price"], contract["price"]["rule"]) == (3500, "contract")
    assert [t["price"]["unit_price"] for t in contract["tiers"]] == [3500, 3500]  # below every tier price
    other = public.product_for_buyer(router=router, product_id=product["id"],
                                     buyer=BuyerContext(company_id="cmp_01M8A0000000000000000000ZZ"))
    assert next(v for v in other["variants"] if v["sku"] == "BM-250")["price"]["rule"] == "base"


def test_b2b_only_products_are_only_for_company_buyers_and_hidden_ones_for_nobody(client, router, kingston, company):
    principal, auth = kingston
    wholesale = add_product(client, auth, ref="wholesale", sku_prefix="WH", visibility="b2b")
    hidden = add_product(client, auth, ref="hidden", sku_prefix="HD", visibility="hidden")
    shown = add_product(client, auth, ref="shown", sku_prefix="SH")
    for product in (wholesale, hidden):
        answer = read(client, product["id"])
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    listing = client.get(f"/api/v1/merchants/{principal.merchant_id}/products").get_json()
    assert [item["id"] for item in listing["items"]] == [shown["id"]]
    buyer = BuyerContext(company_id=company)
    assert public.product_for_buyer(router=router, product_id=wholesale["id"], buyer=buyer)["b2b_only"] is True
    with pytest.raises(public.ProductNotFound):
        public.product_for_buyer(router=router, product_id=hidden["id"], buyer=buyer)
    page = public.merchant_products(router=router, merchant_id=principal.merchant_id, buyer=buyer)
    assert {item["id"] for item in page.items} == {wholesale["id"], shown["id"]}


def test_unknown_or_malformed_products_and_merchants_are_404(client, kingston):
    for product_id in ("prd_01J0000000000000000000000A", "nonsense", "mer_01J0000000000000000000000A"):
        assert read(client, product_id).status_code == 404, product_id
    assert client.get("/api/v1/merchants/mer_01J0000000000000000000000A/products").status_code == 404


def test_etag_answers_304_until_the_product_price_or_language_changes(client, kingston):
    _, auth = kingston
    product = add_product(client, auth)
    first = read(client, product["id"])
    etag = first.headers["ETag"]
    assert "Accept-Language" in first.headers["Vary"] and first.headers["Cache-Control"] == "private, no-cache"
    unchanged = read(client, product["id"], **{"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.data, unchanged.headers["ETag"]) == (304, b"", etag)
    assert read(client, product["id"], "?lang=es", **{"If-None-Match": etag}).status_code == 200
    assert read(client, product["id"], "?currency=USD", **{"If-None-Match": etag}).status_code == 200
    assert client.put(f"/api/v1/merchant/products/{product['id']}", headers=auth,
                      json=product_body(title={"en": "Blue Mountain, medium roast"})).status_code == 200
    changed = read(client, product["id"], **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["title"] == "Blue Mountain, medium roast"


def test_a_listings_etag_revalidates_too(client, kingston):
    principal, auth = kingston
    add_product(client, auth)
    path = f"/api/v1/merchants/{principal.merchant_id}/products"
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    add_product(client, auth, ref="second", sku_prefix="SE")
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 200


def _ids(client, kingston) -> list[str]:
    principal, _ = kingston
    return [item["id"] for item in client.get(f"/api/v1/merchants/{principal.merchant_id}/products?limit=100").get_json()["items"]]


def test_cursor_pages_cover_every_product_once_while_products_are_added(client, kingston):
    principal, auth = kingston
    made = [add_product(client, auth, ref=f"p{n}", sku_prefix=f"P{n}")["id"] for n in range(5)]
    seen, path, pages = [], f"/api/v1/merchants/{principal.merchant_id}/products?limit=2", 0
    while path:
        page = client.get(path)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        seen += [item["id"] for item in body["items"]]
        if pages == 0:  # a product added while the buyer pages comes in a later page
            made.append(add_product(client, auth, ref="late", sku_prefix="LATE")["id"])
        assert (body["next"] is None) == (body["next_cursor"] is None) == ("Link" not in page.headers)
        path, pages = body["next"], pages + 1
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) and pages == 3


def test_bad_cursors_and_unknown_parameters_are_422_problems(client, kingston):
    principal, _ = kingston
    path = f"/api/v1/merchants/{principal.merchant_id}/products"
    for query in ("?cursor=garbage", "?cursor=eyJhZnRlciI6IDF9", "?limit=0", "?limit=101", "?page=2", "?currency=XYZ"):
        answer = client.get(path + query)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json", query
        assert answer.get_json()["errors"], query
    assert read(client, "prd_01J0000000000000000000000A", "?audience=b2b").status_code == 422


def test_ships_to_answers_for_the_buyers_country(client, kingston):
    _, auth = kingston
    product = add_product(client, auth, ships_to_exclusions=["US"])
    assert read(client, product["id"], "?country=US").get_json()["ships_to"] == {"country": "US", "ships": False}
    assert read(client, product["id"], "?country=JM").get_json()["ships_to"] == {"country": "JM", "ships": True}
    assert read(client, product["id"]).get_json()["ships_to"] == {"country": None, "ships": None}


@pytest.fixture
def fort_rhum_product(app, client, platform):
    """A product of a merchant homed in fdf, its pointer written, and the merchant's headers;
    made by the all-regions process before `opened` starts counting."""
    principal, auth = merchant(platform.router, "Fort Rhum", "MQ")
    product = {**add_product(client, auth), "merchant_id": principal.merchant_id}
    with app.app_context():
        platform.relay().drain()  # the catalog.locate consumer writes the product's pointer
    return auth, product


def test_a_region_process_routes_and_refuses_a_foreign_product_by_its_directory_pointer(
        fort_rhum_product, app, client, platform, kin_app, database_config, opened):
    auth, product = fort_rhum_product
    edge = kin_app.test_client().get("/edge/route", headers={METHOD_HEADER: "GET",
                                                               URI_HEADER: f"/api/v1/products/{product['id']}?lang=fr"})
    assert (edge.status_code, edge.headers.get(REGION_HEADER)) == (204, "fdf")
    foreign = kin_app.test_client().get(f"/api/v1/products/{product['id']}")
    assert foreign.status_code == 421 and foreign.get_json()["region"] == "fdf"
    listing = kin_app.test_client().get(f"/api/v1/merchants/{product['merchant_id']}/products")
    assert listing.status_code == 421 and listing.headers[REGION_HEADER] == "fdf"
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}  # never fdf's shard
    assert client.get(f"/api/v1/products/{product['id']}").get_json()["language"] == "en"  # served by all regions

    assert client.delete(f"/api/v1/merchant/products/{product['id']}", headers=auth).status_code == 204
    with app.app_context():
        platform.relay().drain()
    kin_app.extensions["cpu"].router.locations.forget()
    gone = kin_app.test_client().get("/edge/route", headers={METHOD_HEADER: "GET",
                                                             URI_HEADER: f"/api/v1/products/{product['id']}"})
    assert REGION_HEADER not in gone.headers


def test_cpu_catalog_locate_writes_the_pointers_of_products_made_before_the_consumer(app, client, router, kingston):
    _, auth = kingston
    made = [add_product(client, auth, ref=f"old{n}", sku_prefix=f"OLD{n}")["id"] for n in range(2)]
    assert [router.region_of(product_id) for product_id in made] == [None, None]  # no relay has run
    result = app.test_cli_runner().invoke(args=["cpu", "catalog", "locate"])
    assert result.exit_code == 0 and "2 product pointers written" in result.output, result.output
    assert [router.region_of(product_id) for product_id in made] == ["kin", "kin"]
    again = app.test_cli_runner().invoke(args=["cpu", "catalog", "locate"])
    assert "0 product pointers written" in again.output  # already agreeing: nothing to write


def test_real_answers_match_the_openapi_document(app, client, kingston):
    """The contract test's generated requests find no product (random ids); these are real ones."""
    principal, auth = kingston
    product = add_product(client, auth, image_urls=["https://img.example/coffee.jpg"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for path, template in ((f"/api/v1/products/{product['id']}?country=MQ", "/api/v1/products/{product_id}"),
                           (f"/api/v1/merchants/{principal.merchant_id}/products?limit=1&currency=USD",
                            "/api/v1/merchants/{merchant_id}/products")):
        answer = client.get(path)
        assert answer.status_code == 200
        schema[template]["GET"].validate_response(answer)


def test_a_signed_in_company_buyer_sees_b2b_products_at_contract_prices_in_its_own_language_and_currency(
        client, kingston):
    """A buyer of a Martinique company, signed in with its token, speaking Spanish."""
    _, auth = kingston
    admin = sign_up(client, "Hotel Admin", "MQ", company="Hotel du Port", language="es")
    wholesale = add_product(client, auth, visibility="b2b")
    small = next(v for v in wholesale["variants"] if v["sku"] == "BM-250")
    assert client.post("/api/v1/merchant/price-lists", headers=auth, json={
        "name": "Hotel contract", "company_ids": [admin["company_id"]],
        "contract_prices": {small["id"]: 3500}}).status_code == 201
    anonymous = read(client, wholesale["id"])
    assert anonymous.status_code == 404 and anonymous.headers.get("ETag") is None
    token = bearer(sign_in(client, admin["email"]))
    answer = read(client, wholesale["id"], **token)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    price = next(v for v in body["variants"] if v["sku"] == "BM-250")["price"]
    assert (price["unit_price"], price["rule"], price["display"]["currency"]) == (3500, "contract", "EUR")
    assert (body["language"], body["ships_to"]["country"]) == ("es", "MQ")
    assert read(client, wholesale["id"], "?lang=en&currency=USD", **token).get_json()["display_currency"] == "USD"
    assert read(client, wholesale["id"], **{"Authorization": "Bearer cpb.kin.forged"}).status_code == 401
