"""The indexer on real databases when things go wrong: two indexers writing one product in
the wrong order, a merchant rename racing a product edit, one product whose data makes no
document, and callers asking for B2B-only products they may not see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketplace.catalog import service as catalog
from marketplace.catalog.models import Product
from marketplace.merchants import accounts, api_keys
from marketplace.regions import outbox
from marketplace.regions.outbox import Event, HandlerRegistry
from search import indexer
from search.engines.elastic import ElasticsearchEngine
from search.engines.embedded import EmbeddedEngine
from search.query import SearchQuery
from tests.search.test_elastic_golden import fake  # noqa: F401  (the fake cluster, a fixture)
from tests.search.test_search_service import product, search, words
from tests.support.buyers import signed_up


@pytest.fixture
def shop(router, platform):
    owner = accounts.sign_up(router=router, trading_name="Blue Mountain Roasters", legal_name="BMR Holdings Limited",
                             home_country="JM", email="owner@bmr.example", password="a long secret pw", handle="bmr")
    platform.search.rebuild([])
    return owner


class WritesLate:
    """An engine whose next upsert first lets `meanwhile` run: the indexer that called it has
    read its copy already, and another indexer reads and writes a newer one before it lands."""

    def __init__(self, engine, holds):
        self.engine = engine
        self.holds = holds  # text -> (title, merchant name) of the documents the index holds for it
        self.meanwhile = None

    def upsert(self, documents):
        run, self.meanwhile = self.meanwhile, None
        if run:
            run()
        return self.engine.upsert(documents)

    def __getattr__(self, name):
        return getattr(self.engine, name)


@pytest.fixture(params=["embedded", "elasticsearch"])
def late(request):
    """The embedded engine, or the Elasticsearch engine against the fake cluster (its requests
    and external versions as Elasticsearch answers them; there is no server here)."""
    if request.param == "embedded":
        engine = EmbeddedEngine(None)
        engine.rebuild([])
        return WritesLate(engine, lambda text: [(h.title, h.merchant_name) for h in engine.search(SearchQuery(text=text)).items])
    cluster = request.getfixturevalue("fake")
    cluster.add_index("cpu-products-1", "cpu-products")
    documents = cluster.indices["cpu-products-1"]["docs"]
    return WritesLate(ElasticsearchEngine(url=cluster.url),
                      lambda text: [(d["title"]["en"], d["merchant_name"]) for d in documents.values()])


def handlers(router, engine):
    registry = HandlerRegistry()
    indexer.register_handlers(registry, router, lambda: engine)
    return registry.handlers_for(indexer.TOPIC)[0], registry.handlers_for(accounts.MERCHANT_RENAMED)[0]


def event(topic, **payload):
    return Event(id="evt_test", region="kin", topic=topic, payload=payload, created_at=datetime.now(UTC), attempt=1)


def test_an_older_read_landing_after_a_newer_one_leaves_the_newer(router, shop, late):
    """Two relays handle two changes of one product: read old, read new, write new, write old."""
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Peaberry coffee"}))
    reindex_product, _ = handlers(router, late)

    def edited_and_indexed_by_another_relay():
        catalog.replace_product(router=router, principal=shop, product_id=created.id,
                                data=product("bm", {"en": "Mavis Bank coffee"}))
        reindex_product(event(indexer.TOPIC, product_id=created.id))

    late.meanwhile = edited_and_indexed_by_another_relay
    reindex_product(event(indexer.TOPIC, product_id=created.id))  # read "Peaberry", written last
    assert late.holds("coffee") == [("Mavis Bank coffee", "Blue Mountain Roasters")]


def test_a_product_edit_read_before_a_rename_and_written_after_it_leaves_the_new_name(router, shop, late):
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Peaberry coffee"}))
    reindex_product, reindex_merchant = handlers(router, late)

    def renamed_and_reindexed():
        accounts.update_settings(router=router, principal=shop, changes={"name": "Mavis Bank Coffee Factory"})
        reindex_merchant(event(accounts.MERCHANT_RENAMED, merchant_id=shop.merchant_id))

    late.meanwhile = renamed_and_reindexed
    reindex_product(event(indexer.TOPIC, product_id=created.id))  # read under the old name, written last
    assert late.holds("coffee") == [("Peaberry coffee", "Mavis Bank Coffee Factory")]


def test_a_rename_bumps_the_revision_its_documents_are_versioned_by(router, shop, late):
    """Indexed before the rename, then re-read for it: the rename's copy must be the newer one."""
    created = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Peaberry coffee"}))
    reindex_product, reindex_merchant = handlers(router, late)
    reindex_product(event(indexer.TOPIC, product_id=created.id))
    accounts.update_settings(router=router, principal=shop, changes={"name": "Mavis Bank Coffee Factory"})
    reindex_merchant(event(accounts.MERCHANT_RENAMED, merchant_id=shop.merchant_id))
    assert late.holds("coffee") == [("Peaberry coffee", "Mavis Bank Coffee Factory")]
    assert catalog.get_product(router=router, principal=shop, product_id=created.id).revision == created.revision + 1


# One bad product ---------------------------------------------------------------------------------

def spoil(router, product_id):
    """Data no document can be built from (a title that is not a text per language), written
    past the catalog's checks as an older release or a hand-made fix could have."""
    with router.unit_of_work("kin") as uow:
        uow.session.get(Product, product_id).title = "Peaberry coffee"
        uow.commit()


def parked(router):
    return [(e.topic, e.payload["product_id"], e.last_error) for e in outbox.parked_events(router, "kin")]


def test_a_product_that_makes_no_document_is_parked_and_the_others_are_indexed(client, router, platform, shop):
    good = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    bad = catalog.create_product(router=router, principal=shop, data=product("pea", {"en": "Peaberry coffee"}))
    spoil(router, bad.id)
    assert platform.relay().drain().failed == 0  # the bad one's own event is not retried for ever
    [(topic, product_id, error)] = parked(router)
    assert (topic, product_id) == (indexer.TOPIC, bad.id) and "cannot be built" in error
    assert [hit["id"] for hit in search(client, q="coffee")["items"]] == [good.id]

    accounts.update_settings(router=router, principal=shop, changes={"name": "Mavis Bank Coffee Factory"})
    assert platform.relay().drain().failed == 0
    assert [hit["merchant"]["name"] for hit in search(client, q="coffee")["items"]] == ["Mavis Bank Coffee Factory"]
    assert [p for _, p, _ in parked(router)] == [bad.id, bad.id]

    catalog.replace_product(router=router, principal=shop, product_id=bad.id, data=product("pea", {"en": "Peaberry coffee"}))
    platform.relay().drain()  # mended: its next change indexes it
    assert {hit["id"] for hit in search(client, q="coffee")["items"]} == {good.id, bad.id}


def test_reindex_skips_a_product_that_makes_no_document_names_it_and_indexes_the_rest(app, client, router, shop):
    good = catalog.create_product(router=router, principal=shop, data=product("bm", {"en": "Blue Mountain coffee"}))
    bad = catalog.create_product(router=router, principal=shop, data=product("pea", {"en": "Peaberry coffee"}))
    spoil(router, bad.id)
    result = app.test_cli_runner().invoke(args=["cpu", "search", "reindex"])
    assert result.exit_code == 1
    assert "indexed 1 products" in result.output
    assert f"1 products skipped, not in the new index: {bad.id}" in result.output
    assert f"skipped {bad.id}: cannot be built" in result.output
    assert [hit["id"] for hit in search(client, q="coffee")["items"]] == [good.id]


# Who may find B2B-only products ----------------------------------------------------------------

@pytest.fixture
def b2b_and_retail(router, platform, shop):
    catalog.create_product(router=router, principal=shop, data=product("sack", {"en": "Green coffee, 30 kg sack"}, visibility="b2b"))
    catalog.create_product(router=router, principal=shop, data=product("bag", {"en": "Green tea, 250 g bag"}))
    platform.relay().drain()


def signed_in(router, shop):
    """A caller with credentials of its own (a merchant's API key): signed in, but no business buyer."""
    _, token = api_keys.create(router=router, principal=shop, name="storefront app")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("caller", ["anonymous", "signed in"])
def test_asking_for_the_b2b_audience_shows_no_b2b_only_product(client, router, shop, b2b_and_retail, caller):
    headers = signed_in(router, shop) if caller == "signed in" else {}
    for asked in ({"audience": "b2b"}, {"audience": "b2b", "b2b_only": "true"}, {}):
        found = client.get("/api/v1/search", query_string={"q": "green", **asked}, headers=headers).get_json()
        assert [hit["title"] for hit in found["items"]] == ([] if asked.get("b2b_only") else ["Green tea, 250 g bag"]), asked
    suggestions = client.get("/api/v1/search/suggest", query_string={"q": "gree", "audience": "b2b"}, headers=headers)
    assert suggestions.status_code == 200
    assert suggestions.get_json()["suggestions"] == ["Green tea, 250 g bag"]


@pytest.mark.parametrize(("caller", "finds_the_sack"), [("company buyer", True), ("personal buyer", False)])
def test_a_buyer_acting_for_a_company_finds_b2b_only_products_and_a_person_does_not(client, b2b_and_retail, caller,
                                                                                     finds_the_sack):
    _, headers = signed_up(client, caller.title(), "JM", **({"company": "Green Hotels"} if caller == "company buyer" else {}))
    found = client.get("/api/v1/search", query_string={"q": "green"}, headers=headers).get_json()
    titles = {hit["title"] for hit in found["items"]}
    assert ("Green coffee, 30 kg sack" in titles) == finds_the_sack and "Green tea, 250 g bag" in titles
    suggestions = client.get("/api/v1/search/suggest", query_string={"q": "gree"}, headers=headers).get_json()
    assert ("Green coffee, 30 kg sack" in suggestions["suggestions"]) == finds_the_sack


def test_the_storefront_search_page_shows_no_b2b_only_product_whatever_it_is_asked(client, shop, b2b_and_retail):
    page = words(client.get("/search?q=green&audience=b2b").get_data(as_text=True))
    assert "Green tea, 250 g bag" in page and "30 kg sack" not in page
