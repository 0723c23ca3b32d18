"""Search from the buyer's side, on real databases: documents carry only public data, catalog
changes reach the index through the outbox, and the API and the storefront page answer."""

import dataclasses
import json
import re
import socket
import time

import pytest
from sqlalchemy import func, select

from marketplace.catalog import service as catalog
from marketplace.merchants import accounts, api_keys
from marketplace.regions.models import OutboxEvent
from payments import fx
from search import indexer
from search.documents import Removal, SearchDocument
from search.engines.embedded import EmbeddedEngine
from search.query import SearchQuery
from tests.conftest import make_app
from search.schemas import SearchResultSchema

PUBLIC_FIELDS = {
    "id", "merchant_id", "merchant_name", "merchant_handle", "merchant_region", "category", "category_path", "title",
    "description", "attributes", "origin_countries", "ships_to_exclusions", "b2b_only", "currency", "price", "price_usd",
    "in_stock", "popularity", "created_at", "variants", "version", "image_url",
}


def product(ref, title, *, category="food/coffee", price=4500, visibility="public", exclusions=(), origin="JM", stock=10):
    return {
        "ref": ref, "category": category, "title": title, "description": {"en": f"{title.get('en', '')} from the islands."},
        "image_urls": [], "visibility": visibility, "ships_to_exclusions": list(exclusions),
        "variants": [{"sku": f"{ref}-1", "options": {"size": "250 g"}, "base_price": price, "tiers": [], "moq": 1,
                      "case_pack": 1, "hs_code": "090121", "origin_country": origin, "weight_g": 260, "length_mm": 80,
                      "width_mm": 60, "height_mm": 180, "stock": {"KGN": stock}}],
    }


@pytest.fixture
def shop(router, platform):
    owner = accounts.sign_up(router=router, trading_name="Blue Mountain Roasters", legal_name="BMR Holdings Limited",
                             home_country="JM", email="owner@bmr.example", password="a long secret pw", handle="bmr",
                             tax_id="JM-TAX-998877")
    api_keys.create(router=router, principal=owner, name="private key name")
    platform.search.rebuild([])
    return owner


def index_now(platform):
    platform.relay().drain()


def search(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_document_holds_public_fields_only(router, shop):
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    document = indexer.read_document(router, "kin", created.id)
    assert {f.name for f in dataclasses.fields(SearchDocument)} == PUBLIC_FIELDS
    text = json.dumps(document.as_dict())
    for private in ("owner@bmr.example", "BMR Holdings Limited", "JM-TAX-998877", "private key name", "a long secret pw", "KGN"):
        assert private not in text


def test_hidden_products_have_no_document(router, shop):
    created = catalog.create_product(router=router, principal=shop, data=product("secret", {"en": "Secret blend"}, visibility="hidden"))
    assert indexer.read_document(router, "kin", created.id) == Removal(created.id, created.revision)


def test_catalog_changes_reach_search_through_the_outbox(client, router, platform, shop):
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    assert search(client, q="blue mountain")["total"] == 0  # not before the relay ran
    index_now(platform)
    assert [hit["id"] for hit in search(client, q="blue mountain")["items"]] == [created.id]

    catalog.replace_product(router=router, principal=shop, product_id=created.id,
                            data=product("bm", {"en": "Blue Mountain coffee"}, visibility="hidden"))
    index_now(platform)
    assert search(client, q="blue mountain")["total"] == 0  # hiding removes it

    catalog.replace_product(router=router, principal=shop, product_id=created.id, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    catalog.delete_product(router=router, principal=shop, product_id=created.id)
    index_now(platform)
    assert search(client, q="blue mountain")["total"] == 0  # deleting removes it


def test_prices_are_filtered_and_shown_in_the_buyers_currency(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("cheap", {"en": "Coffee sampler"}, price=1585))   # JMD 15.85 = USD 0.10
    catalog.create_product(router=router, principal=shop, data=product("dear", {"en": "Coffee sack"}, price=3_170_000))  # JMD 31,700 = USD 200
    index_now(platform)
    found = search(client, q="coffee", currency="USD", price_min="100.00")
    assert [hit["title"] for hit in found["items"]] == ["Coffee sack"]
    assert found["items"][0]["buyer_price"] == {"amount": 20_000, "currency": "USD"}
    assert found["items"][0]["price"] == {"amount": 3_170_000, "currency": "JMD"}
    assert search(client, q="coffee", currency="EUR", price_max="1.00")["total"] == 1


def test_a_product_that_cannot_ship_to_the_buyer_is_never_shown(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("rum", {"en": "Overproof rum"}, category="beverages/rum", exclusions=["US"]))
    index_now(platform)
    assert search(client, q="rum", ships_to="US")["total"] == 0
    assert search(client, q="rum", ships_to="CA")["total"] == 1


def test_bad_search_arguments_are_a_problem_naming_the_field(client, shop):
    for params, field in (({"sort": "cheapest"}, "sort"), ({"currency": "ZZZ"}, "currency"), ({"price_min": "ten"}, "price_min"),
                          ({"per_page": 1000}, "per_page"), ({"ships_to": "usa"}, "ships_to"),
                          ({"page": 101, "per_page": 100}, "page")):
        response = client.get("/api/v1/search", query_string=params)
        assert response.status_code == 422 and field in response.get_json()["errors"], (params, response.get_json())


def test_suggestions_complete_what_the_buyer_types(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    suggestions = client.get("/api/v1/search/suggest", query_string={"q": "blue mou"}).get_json()["suggestions"]
    assert any("Blue Mountain" in s for s in suggestions)


def test_the_storefront_search_page_offers_facets_as_links(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    catalog.create_product(router=router, principal=shop, data=product("nut", {"en": "Grenada nutmeg"}, category="food/spices", origin="GD"))
    index_now(platform)
    page = client.get("/search?q=coffee+nutmeg").get_data(as_text=True)
    assert "Blue Mountain coffee" in words(page) and "Grenada nutmeg" in words(page)
    assert "<mark>coffee</mark>" in page  # the match is marked in the title, not repeated under it
    assert words(page).count("Blue Mountain coffee") == 1
    assert re.search(r'<a href="[^"]*origin=GD[^"]*">Grenada</a>', page)  # names, not codes or ids
    assert re.search(r'<a href="[^"]*merchant=mer_\w+[^"]*">Blue Mountain Roasters</a>', page)
    filtered = client.get("/search?q=coffee+nutmeg&origin=GD").get_data(as_text=True)
    assert "Grenada nutmeg" in words(filtered) and "Blue Mountain coffee" not in words(filtered)
    assert 'aria-current="true"' in filtered  # the selected value is marked, and a link removes it


def words(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


def test_facet_values_carry_labels_in_the_buyers_language(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("nut", {"en": "Grenada nutmeg"}, category="food/spices", origin="GD"))
    index_now(platform)
    facets = search(client, q="nutmeg", lang="es", currency="EUR")["facets"]
    labels = {name: {v["value"]: v["label"] for v in values} for name, values in facets.items()}
    assert labels["origin_country"] == {"GD": "Granada"}
    assert labels["merchant"] == {shop.merchant_id: "Blue Mountain Roasters"}
    assert labels["category"]["food/spices"] == "Especias"
    assert all(label.count("€") == 2 or label.endswith("€+") for label in labels["price"].values()), labels["price"]
    assert all("," in label for label in labels["price"].values())  # "9,21 €–23,03 €": money as Spanish writes it


def test_reindex_command_rebuilds_from_every_region(app, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    result = app.test_cli_runner().invoke(args=["cpu", "search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 1 products" in result.output


def test_reindex_refuses_while_a_region_is_unreachable_and_keeps_the_index(app, client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    router.health.mark_down("sxm", "hurricane")
    result = app.test_cli_runner().invoke(args=["cpu", "search", "reindex"])
    assert result.exit_code != 0
    assert "region sxm is unreachable" in result.output and "left as it was" in result.output
    assert search(client, q="coffee")["total"] == 1


def test_a_change_indexed_while_another_process_rebuilds_reaches_the_new_index(monkeypatch, router, platform, shop):
    """`cpu search reindex` runs in its own process while the server's relay goes on indexing
    into the index in use: a product changed after the rebuild read it must not stay stale."""
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    read_before_the_change = list(indexer.all_documents(router))

    def catalogue_changing_midway(_router):
        catalog.replace_product(router=router, principal=shop, product_id=created.id,
                                data=product("bm", {"en": "Peaberry coffee"}))
        index_now(platform)  # the server's relay writes the change into the index still in use
        yield from read_before_the_change

    monkeypatch.setattr(indexer, "all_documents", catalogue_changing_midway)
    other_process = EmbeddedEngine(platform.settings.instance_path / "search")
    rebuilt = indexer.rebuild(router, other_process)
    assert (rebuilt.indexed, rebuilt.caught_up) == (1, 1)
    index_now(platform)  # the relay takes the queued-again change into the new index
    a_server_started_now = EmbeddedEngine(platform.settings.instance_path / "search")
    assert [hit.title for hit in a_server_started_now.search(SearchQuery(text="coffee")).items] == ["Peaberry coffee"]


def test_a_change_is_searchable_within_two_seconds_with_the_relay_thread(client, router, platform, shop):
    platform.start_relay_thread()
    try:
        started = time.monotonic()
        catalog.create_product(router=router, principal=shop, data=product("fresh", {"en": "Freshly roasted peaberry"}))
        while search(client, q="peaberry")["total"] == 0:
            assert time.monotonic() - started < 2.0, "not searchable within 2 s"
            time.sleep(0.05)
    finally:
        platform.stop_relay_thread()


def test_the_search_answer_is_exactly_its_documented_schema(client, router, platform, shop):
    """The search endpoint returns service.present's dict without dumping it through
    SearchResultSchema: every key it sends must be one the OpenAPI document describes."""
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    found = search(client, q="coffee", currency="EUR")
    assert found["items"] and found["facets"]["price"]
    assert SearchResultSchema().dump(found) == found
    assert SearchResultSchema().validate(found) == {}


def test_a_search_that_finds_nothing_says_so_and_suggests_what_would(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    found = search(client, q="coffee", category="beverages", currency="EUR")
    assert found["total"] == 0 and found["items"] == []
    assert found["suggestions"] == [{"q": "coffee", "total": 1, "without_filters": True}]
    assert SearchResultSchema().validate(found) == {}
    assert search(client, q="coffee")["suggestions"] == []  # found something: nothing to suggest


def test_an_unreachable_search_cluster_is_a_503_the_buyer_may_retry(database_config):
    """Production searches Elasticsearch; when it does not answer, the buyer gets a problem
    document with Retry-After, not a 500, and suggestions fail the same way."""
    server = make_app(database_config, ELASTICSEARCH_URL=f"http://127.0.0.1:{closed_port()}")
    try:
        client = server.test_client()
        for path in ("/api/v1/search?q=coffee", "/api/v1/search/suggest?q=cof"):
            response = client.get(path)
            assert response.status_code == 503, response.get_json()
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["type"] == "/problems/search-unavailable"
            assert int(response.headers["Retry-After"]) > 0
    finally:
        server.extensions["cpu"].router.dispose()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe is: connections are refused


def queued_changes(router, region="kin") -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.topic == indexer.TOPIC, OutboxEvent.delivered_at.is_(None)))


class SwitchTimedOut:
    """An engine whose rebuild reads everything, then fails where it cannot tell whether its
    switch happened (an alias change that timed out)."""

    name = "failing"

    def rebuild(self, documents, progress=None):
        list(documents)
        raise TimeoutError("update_aliases timed out")


def test_a_rebuild_that_fails_late_still_queues_recent_changes_again(router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    assert queued_changes(router) == 0
    with pytest.raises(TimeoutError):
        indexer.rebuild(router, SwitchTimedOut())
    assert queued_changes(router) == 1


def test_catch_up_goes_on_past_an_unreachable_region_and_names_it(app, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    index_now(platform)
    router.health.mark_down("sxm", "hurricane")
    result = app.test_cli_runner().invoke(args=["cpu", "search", "catch-up", "--minutes", "5"])
    assert result.exit_code != 0 and "region(s) sxm could not be reached" in result.output
    assert queued_changes(router) == 1  # kin's change went out all the same
    router.health.mark_up("sxm")
    result = app.test_cli_runner().invoke(args=["cpu", "search", "catch-up", "--minutes", "5"])
    assert result.exit_code == 0 and "1 products changed since" in result.output


def test_the_search_page_says_which_word_a_typo_was_taken_for(client, router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("nut", {"en": "Grenada nutmeg"}, category="food/spices", origin="GD"))
    index_now(platform)
    page = client.get("/search?q=nutmge").get_data(as_text=True)
    assert "Grenada" in words(page) and "Including results for: nutmeg" in words(page)


def test_catch_up_refuses_to_reach_past_what_the_outbox_keeps(app, shop):
    result = app.test_cli_runner().invoke(args=["cpu", "search", "catch-up", "--minutes", str(8 * 24 * 60)])
    assert result.exit_code != 0 and "keeps 7 days of changes" in result.output and "reindex" in result.output


def test_a_renamed_merchant_is_found_and_shown_under_its_new_name(client, router, platform, shop):
    for ref in ("bm", "pea"):
        catalog.create_product(router=router, principal=shop, data=product(ref, {"en": f"Coffee {ref}"}))
    index_now(platform)
    accounts.update_settings(router=router, principal=shop, changes={"name": "Mavis Bank Coffee Factory"})
    index_now(platform)
    found = search(client, q="coffee")
    assert {hit["merchant"]["name"] for hit in found["items"]} == {"Mavis Bank Coffee Factory"}
    assert [v["label"] for v in found["facets"]["merchant"]] == ["Mavis Bank Coffee Factory"]
    # The name is shown and faceted, not matched as free text: a shop called "... Coffee ..."
    # would otherwise make every product it sells match "coffee" (issue 14).
    assert search(client, q="mavis")["total"] == 0


def test_a_hit_carries_what_a_phone_needs_to_show_and_open_it(client, router, platform, shop):
    """Issue 14 item 7: the first image as the catalog stores it, the storefront page and the
    API link, both of which answer."""
    pictured = product("bm", {"en": "Blue Mountain coffee"})
    pictured["image_urls"] = ["https://img.example/bm-front.jpg", "https://img.example/bm-back.jpg"]
    catalog.create_product(router=router, principal=shop, data=pictured)
    catalog.create_product(router=router, principal=shop, data=product("pea", {"en": "Peaberry coffee"}))
    index_now(platform)
    hits = {hit["title"]: hit for hit in search(client, q="coffee")["items"]}
    assert hits["Blue Mountain coffee"]["image_url"] == "https://img.example/bm-front.jpg"
    assert hits["Peaberry coffee"]["image_url"] is None
    for hit in hits.values():
        assert hit["api_url"] == f"/api/v1/products/{hit['id']}"
        api = client.get(hit["api_url"])
        assert api.status_code == 200 and api.get_json()["id"] == hit["id"]
        page = client.get(hit["public_url"])
        assert page.status_code == 200 and hit["title"] in page.get_data(as_text=True)


# J$15.85 .. J$97,000, none within a cent (in US dollars) of a round bound: a product's bucket is
# decided on its US-cent price (see search.prices), J$99,999 and J$100,000 are both US$630.91.
PRICES_JMD = (15_85, 700_00, 1_234_56, 3_100_00, 8_000_00, 15_500_00, 31_000_00, 97_000_00)


def priced_shop(router, platform, shop):
    for n, price in enumerate(PRICES_JMD):
        catalog.create_product(router=router, principal=shop, data=product(f"c{n}", {"en": f"Coffee lot {n}"}, price=price))
    index_now(platform)


def is_round(amount: int) -> bool:
    """0, or 1, 2.5 or 5 times a power of ten in major units (every currency here has cents)."""
    if amount == 0:
        return True
    scale = 10 ** (len(str(amount)) - 1)
    return amount % scale == 0 and amount // scale in (1, 5) or (amount * 2) % scale == 0 and amount * 2 // scale == 5


def bucket_of(buckets: list[dict], amount: int) -> list[dict]:
    return [b for b in buckets if b["min"]["amount"] <= amount and (b["max"] is None or amount < b["max"]["amount"])]


@pytest.mark.parametrize("currency", ["USD", "EUR", "JMD"])
def test_price_buckets_have_round_bounds_in_the_buyers_currency_and_hold_every_hit_once(client, router, platform, shop, currency):
    priced_shop(router, platform, shop)
    found = search(client, q="coffee", currency=currency, per_page=100)
    buckets = found["facets"]["price"]
    assert 2 <= len(buckets) <= 5 and sum(b["count"] for b in buckets) == found["total"] == len(PRICES_JMD)
    assert all(b["count"] > 0 for b in buckets)
    assert buckets[0]["min"]["amount"] == 0
    for bucket in buckets:
        assert {bucket["min"]["currency"], *(m["currency"] for m in [bucket["max"]] if m)} == {currency}
        assert is_round(bucket["min"]["amount"]) and (bucket["max"] is None or is_round(bucket["max"]["amount"])), bucket
    for lower, upper in zip(buckets, buckets[1:]):
        assert lower["max"] == upper["min"]  # no gap, no overlap
    for hit in found["items"]:
        holding = bucket_of(buckets, hit["buyer_price"]["amount"])
        assert len(holding) == 1, (hit["buyer_price"], buckets)
    for bucket in buckets:
        assert sum(1 for hit in found["items"] if bucket_of([bucket], hit["buyer_price"]["amount"])) == bucket["count"]


def test_a_price_bucket_selected_finds_what_it_counted_and_keeps_the_others_offered(client, router, platform, shop):
    priced_shop(router, platform, shop)
    buckets = search(client, q="coffee", currency="EUR")["facets"]["price"]
    chosen = buckets[1]
    found = search(client, q="coffee", currency="EUR", price_bucket=chosen["value"], per_page=100)
    assert found["total"] == chosen["count"]
    assert all(bucket_of([chosen], hit["buyer_price"]["amount"]) for hit in found["items"])
    assert found["facets"]["price"] == buckets  # a facet ignores its own selection


def test_another_currency_shows_converted_round_bounds(client, router, platform, shop):
    priced_shop(router, platform, shop)
    usd = search(client, q="coffee", currency="USD")["facets"]["price"]
    jmd = search(client, q="coffee", currency="JMD")["facets"]["price"]
    assert {b["min"]["currency"] for b in jmd} == {"JMD"} and jmd != usd
    relabelled = [fx.rates().convert(b["min"]["amount"], "USD", "JMD") for b in usd]
    assert [b["min"]["amount"] for b in jmd] != relabelled  # its own round bounds, not dollar bounds converted
    assert all(is_round(b["min"]["amount"]) for b in jmd)
    assert sum(b["count"] for b in jmd) == sum(b["count"] for b in usd)
    assert "JMD" in jmd[1]["label"] or "$" in jmd[1]["label"]


def test_without_a_currency_a_buyer_sees_prices_in_their_countrys(client, router, platform, shop):
    priced_shop(router, platform, shop)
    found = search(client, q="coffee", ships_to="JM")
    assert {hit["buyer_price"]["currency"] for hit in found["items"]} == {"JMD"}
    assert {b["min"]["currency"] for b in found["facets"]["price"]} == {"JMD"}
    assert search(client, q="coffee")["items"][0]["buyer_price"]["currency"] == "USD"  # nowhere known: dollars
