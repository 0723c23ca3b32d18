"""Every number a client sends has a bound (marketplace/bounds.toml): past it, a 422 naming the
field; at it, accepted and stored (on PostgreSQL too, so each bound fits its column). The same
bounds hold for the dashboard and the importer, which share catalog.service.product_problems."""

from __future__ import annotations

import copy

import pytest

from marketplace.bounds import BOUNDS, BOUNDS_FILE, JS_SAFE_INTEGER_MAX, load
from marketplace.catalog import pricing, service
from marketplace.catalog.schemas import ProductSchema
from tests.api.test_merchant_api import merchant, product_body

BEYOND_ANY_COLUMN = 2**63
PRODUCTS = "/api/v1/merchant/products"


@pytest.fixture
def auth(router):
    _, headers = merchant(router, "Bounded Goods", "JM")
    return headers


def with_variant(**changes) -> dict:
    """A product of one variant: the first of product_body's, changed."""
    body = product_body()
    variant = {**body["variants"][0], "tiers": [], "moq": 1, "case_pack": 1, **changes}
    return {**body, "variants": [variant]}


def refused_fields(response) -> set[str]:
    assert response.status_code == 422, response.get_json()
    return set(response.get_json()["errors"])


@pytest.mark.parametrize(("field", "most"), [
    ("moq", BOUNDS.max_quantity),
    ("case_pack", BOUNDS.max_quantity),
    ("base_price", BOUNDS.max_unit_price),
    ("weight_g", BOUNDS.max_weight_g),
    ("length_mm", BOUNDS.max_dimension_mm),
    ("width_mm", BOUNDS.max_dimension_mm),
    ("height_mm", BOUNDS.max_dimension_mm),
])
def test_a_variant_number_past_its_bound_is_a_422_naming_it_and_the_bound_itself_is_stored(client, auth, field, most):
    for too_many in (most + 1, BEYOND_ANY_COLUMN):
        response = client.post(PRODUCTS, json=with_variant(**{field: too_many}), headers=auth)
        assert refused_fields(response) == {f"variants.0.{field}"}
    whole_cases = {"moq": most} if field == "case_pack" else {}  # the minimum order is whole case packs
    stored = client.post(PRODUCTS, json=with_variant(**{field: most}, **whole_cases), headers=auth)
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["variants"][0][field] == most


def test_tier_quantities_and_stock_past_the_bound_are_refused_and_the_bound_is_stored(client, auth):
    most = BOUNDS.max_quantity
    tier_refused = client.post(PRODUCTS, json=with_variant(tiers=[{"min_quantity": BEYOND_ANY_COLUMN, "unit_price": 1}]),
                               headers=auth)
    assert refused_fields(tier_refused) == {"variants.0.tiers.0.min_quantity"}
    stock_refused = client.post(PRODUCTS, json=with_variant(stock={"KGN": most + 1}), headers=auth)
    assert [name.startswith("variants.0.stock") for name in refused_fields(stock_refused)] == [True]

    stored = client.post(PRODUCTS, json=with_variant(tiers=[{"min_quantity": most, "unit_price": 1}], stock={"KGN": most}),
                         headers=auth)
    assert stored.status_code == 201, stored.get_json()
    variant = stored.get_json()["variants"][0]
    assert (variant["tiers"][0]["min_quantity"], variant["stock"]) == (most, {"KGN": most})


def test_a_quote_for_more_than_the_most_units_is_a_422_and_the_most_is_priced_exactly(client, auth):
    product = client.post(PRODUCTS, json=with_variant(base_price=BOUNDS.max_unit_price), headers=auth).get_json()
    quote = f"/api/v1/merchant/variants/{product['variants'][0]['id']}/quote"
    for too_many in (BOUNDS.max_quantity + 1, 10**100):
        assert refused_fields(client.get(f"{quote}?quantity={too_many}", headers=auth)) == {"quantity"}
    priced = client.get(f"{quote}?quantity={BOUNDS.max_quantity}", headers=auth).get_json()
    assert priced["total"] == BOUNDS.max_unit_price * BOUNDS.max_quantity <= JS_SAFE_INTEGER_MAX


def test_an_offset_past_the_bound_is_a_422_and_the_bound_is_an_empty_page(client, auth):
    assert refused_fields(client.get(f"{PRODUCTS}?offset=9223372036854775808", headers=auth)) == {"offset"}
    assert refused_fields(client.get(f"{PRODUCTS}?offset={BOUNDS.max_offset + 1}", headers=auth)) == {"offset"}
    page = client.get(f"{PRODUCTS}?offset={BOUNDS.max_offset}", headers=auth)
    assert page.status_code == 200 and page.get_json()["items"] == []


def test_price_list_terms_past_their_bounds_are_refused(client, auth):
    body = {"name": "Hotels", "company_ids": ["cmp_01M8A0000000000000000000AB"]}
    assert refused_fields(client.post("/api/v1/merchant/price-lists", json={**body, "percent_off_bp": 10_000},
                                      headers=auth)) == {"percent_off_bp"}
    over = {"var_01M8A0000000000000000000AB": BOUNDS.max_unit_price + 1}
    refused = client.post("/api/v1/merchant/price-lists", json={**body, "contract_prices": over}, headers=auth)
    assert [name.startswith("contract_prices") for name in refused_fields(refused)] == [True]


def test_a_search_price_of_four_hundred_nines_is_a_422_and_the_longest_allowed_is_searched(client):
    assert refused_fields(client.get("/api/v1/search?price_max=" + "9" * 400)) == {"price_max"}
    assert refused_fields(client.get("/api/v1/search?price_min=" + "9" * (BOUNDS.max_price_whole_digits + 1))) == {"price_min"}
    longest = "9" * BOUNDS.max_price_whole_digits + ".99"
    assert client.get(f"/api/v1/search?price_min=1&price_max={longest}").status_code == 200


def test_a_number_with_a_zero_fraction_is_the_whole_number_json_schema_says_it_is(client, auth):
    response = client.post(PRODUCTS, json=with_variant(moq=6.0, case_pack=6, weight_g=260.0), headers=auth)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["variants"][0]["moq"], response.get_json()["variants"][0]["weight_g"]) == (6, 260)
    assert refused_fields(client.post(PRODUCTS, json=with_variant(moq=6.5), headers=auth)) == {"variants.0.moq"}


def test_the_dashboard_and_importer_rules_hold_the_same_bounds():
    """product_problems sees what the dashboard form and an import file produce, past the schema."""
    data = ProductSchema().load(with_variant())
    variant = data["variants"][0]
    over = {"moq": BEYOND_ANY_COLUMN, "case_pack": BEYOND_ANY_COLUMN, "weight_g": BEYOND_ANY_COLUMN,
            "height_mm": BOUNDS.max_dimension_mm + 1, "stock": {"KGN": BEYOND_ANY_COLUMN},
            "tiers": [{"min_quantity": BEYOND_ANY_COLUMN, "unit_price": 1}]}
    problems = service.product_problems({**data, "variants": [{**copy.deepcopy(variant), **over}]})
    assert {f"variants.0.{name}" for name in over} <= set(problems)
    with pytest.raises(pricing.QuantityRefused) as refused:
        pricing.check_quantity(pricing.VariantTerms(variant_id="var_x", currency="JMD", base_price=100), 10**100)
    assert set(refused.value.errors) == {"quantity"}


def test_bounds_that_could_overflow_a_column_or_a_javascript_client_refuse_to_load(tmp_path):
    text = BOUNDS_FILE.read_text(encoding="utf-8")
    for wrong in (text.replace("max = 1_000_000", "max = 10_000_000"),  # times the top price: past 2^53
                  text.replace("max_weight_g = 1_000_000", f"max_weight_g = {2**31}")):  # past INTEGER
        path = tmp_path / "bounds.toml"
        path.write_text(wrong, encoding="utf-8")
        with pytest.raises(ValueError):
            load(path)


def test_the_top_price_bucket_is_searched_and_a_bucket_that_is_not_one_is_a_422(client):
    response = client.get("/api/v1/search?price_bucket=25000-")  # the bucket without an upper bound
    assert response.status_code == 200, response.get_json()
    for wrong in ("6", "2500-1000", "9" * 19 + "-"):
        assert refused_fields(client.get(f"/api/v1/search?price_bucket={wrong}")) == {"price_bucket"}, wrong
