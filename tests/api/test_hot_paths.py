"""What the busiest requests cost the databases, as an operator counts it: statements per
request on the product detail integrations poll, the merchant read, a storefront page; the
home page a page at a time whatever the number of merchants; and the caches behind them
letting go when a handle or a region changes."""

from __future__ import annotations

import contextlib
import re
from collections import Counter

import pytest
from sqlalchemy import event

from marketplace.merchants import accounts, api_keys, storefronts
from marketplace.merchants.models import Merchant
from marketplace.regions.models import DirectoryEntry, StorefrontHandle
from marketplace.regions.router import DIRECTORY
from tests.api.test_merchant_api import product_body

PASSWORD = "correct horse battery"


@contextlib.contextmanager
def statements(router):
    """Counts the statements sent while inside, per database name."""
    seen: Counter[str] = Counter()
    listeners = []
    for name in router.database_names:
        listener = lambda *_args, name=name: seen.update([name])  # noqa: E731
        for engine in router.engines_of(name):
            event.listen(engine, "before_cursor_execute", listener)
            listeners.append((engine, listener))
    try:
        yield seen
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)


def open_storefront(router, handle, country="JM", name=None):
    return accounts.sign_up(router=router, trading_name=name or f"Shop {handle}", legal_name=f"{handle} Ltd",
                            home_country=country, email=f"owner@{handle}.example", password=PASSWORD, handle=handle)


@pytest.fixture
def keyed_product(client, router):
    principal = open_storefront(router, "kingston-roasters")
    _, token = api_keys.create(router=router, principal=principal, name="tests")
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/merchant/products", json=product_body(), headers=auth)
    assert created.status_code == 201, created.get_json()
    return principal, auth, created.get_json()


def test_the_product_detail_is_one_statement_once_the_key_is_known(client, router, keyed_product):
    _, auth, product = keyed_product
    path = f"/api/v1/merchant/products/{product['id']}"
    assert client.get(path, headers=auth).status_code == 200  # the key is checked and remembered
    with statements(router) as seen:
        response = client.get(path, headers=auth)
    assert response.status_code == 200
    read = {v["sku"]: v for v in response.get_json()["variants"]}
    assert read == {v["sku"]: v for v in product["variants"]}  # the whole product, variants and tiers
    assert dict(seen) == {"kin": 1}


def test_another_merchants_product_is_not_found_in_that_one_statement(client, router, keyed_product):
    _, _, product = keyed_product
    other = open_storefront(router, "fort-rhum", "MQ")
    _, token = api_keys.create(router=router, principal=other, name="tests")
    response = client.get(f"/api/v1/merchant/products/{product['id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_merchant_read_is_one_statement_on_its_shard(client, router):
    merchant_id = open_storefront(router, "cibao-cacao", "DO").merchant_id
    assert client.get(f"/api/v1/merchants/{merchant_id}").status_code == 200
    with statements(router) as seen:
        assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["handle"] == "cibao-cacao"
    assert dict(seen) == {"sdq": 1}


def test_a_storefront_page_does_not_ask_the_directory_on_every_visit(client, router):
    open_storefront(router, "blue-mountain")
    assert client.get("/s/blue-mountain").status_code == 200
    with statements(router) as seen:
        for _ in range(3):
            assert client.get("/s/blue-mountain").status_code == 200
    assert seen[DIRECTORY] == 0


def test_strings_that_cannot_be_handles_never_reach_the_directory(client, router):
    with statements(router) as seen:
        for junk in ("x" * 500, "Blue-Mountain", "-blue-", "a"):
            assert client.get(f"/s/{junk}").status_code == 404
    assert seen[DIRECTORY] == 0


def rename_handle(router, merchant_id, region, old, new):
    """What renaming a storefront does: the merchant's row and the directory's handle."""
    with router.unit_of_work(region) as uow:
        uow.session.get(Merchant, merchant_id).handle = new
        uow.commit()
    with router.directory() as uow:
        uow.session.delete(uow.session.get(StorefrontHandle, old))
        uow.session.flush()  # the merchant holds one handle: the old one goes first
        uow.session.add(StorefrontHandle(handle=new, merchant_id=merchant_id, region=region))
        uow.commit()


def test_a_renamed_storefront_moves_to_its_new_handle_at_once(client, router):
    owner = open_storefront(router, "blue-mountain", name="Blue Mountain Roasters")
    assert client.get("/s/blue-mountain").status_code == 200  # the handle is cached now
    rename_handle(router, owner.merchant_id, "kin", "blue-mountain", "blue-mountain-coffee")
    assert client.get("/s/blue-mountain").status_code == 404
    assert "Blue Mountain Roasters" in client.get("/s/blue-mountain-coffee").get_data(as_text=True)


def test_a_handle_taken_over_by_another_merchant_leads_to_that_merchant(client, router):
    first = open_storefront(router, "blue-mountain", name="First Roasters")
    second = open_storefront(router, "cibao-cacao", "DO", name="Second Cacao")
    assert client.get("/s/blue-mountain").status_code == 200  # cached: the first merchant
    rename_handle(router, first.merchant_id, "kin", "blue-mountain", "first-roasters")
    rename_handle(router, second.merchant_id, "sdq", "cibao-cacao", "blue-mountain")
    assert "Second Cacao" in client.get("/s/blue-mountain").get_data(as_text=True)


def test_a_relocated_storefront_is_read_from_its_new_region(client, router):
    owner = open_storefront(router, "moving-co", name="Moving Co")
    assert client.get("/s/moving-co").status_code == 200  # handle and region cached
    with router.unit_of_work("kin") as uow:  # what a relocation does: the row moves ...
        moved = uow.session.get(Merchant, owner.merchant_id)
        copy = {column.name: getattr(moved, column.name) for column in Merchant.__table__.columns}
        moved.handle = None  # ... and the old shard's copy is no storefront any more
        uow.commit()
    with router.unit_of_work("sdq") as uow:
        uow.session.add(Merchant(**{**copy, "region": "sdq", "name": "Moving Co (Santo Domingo)"}))
        uow.commit()
    with router.directory() as uow:  # ... the directory points at the new region ...
        uow.session.get(DirectoryEntry, owner.merchant_id).region = "sdq"
        uow.session.get(StorefrontHandle, "moving-co").region = "sdq"
        uow.commit()
    router.locations.forget(owner.merchant_id)  # ... and the router forgets where it was
    assert "Moving Co (Santo Domingo)" in client.get("/s/moving-co").get_data(as_text=True)


# The home page, a page at a time -----------------------------------------------------------

def storefront_links(response) -> list[str]:
    return re.findall(r'href="/s/([a-z0-9-]+)"', response.get_data(as_text=True))


def next_link(response) -> str | None:
    found = re.search(r'href="(/\?[^"]*before=[^"]+)" rel="next"', response.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_home_page_lists_the_newest_storefronts_a_page_at_a_time(client, router, monkeypatch):
    monkeypatch.setattr(storefronts, "PER_PAGE", 2)
    handles = [f"shop-{n}" for n in range(5)]
    for handle, country in zip(handles, ("JM", "DO", "BB", "JM", "MQ")):
        open_storefront(router, handle, country)
    pages, path = [], "/"
    while path is not None:
        with statements(router) as seen:
            response = client.get(path)
        assert response.status_code == 200
        assert all(count <= 1 for count in seen.values()) and seen[DIRECTORY] == 0  # one bounded read per shard
        pages.append(storefront_links(response))
        path = next_link(response)
    assert pages == [["shop-4", "shop-3"], ["shop-2", "shop-1"], ["shop-0"]]


def test_a_home_page_with_one_page_of_storefronts_has_no_next_link(client, router):
    open_storefront(router, "blue-mountain")
    response = client.get("/")
    assert storefront_links(response) == ["blue-mountain"] and next_link(response) is None


def test_a_made_up_cursor_shows_the_newest_storefronts(client, router):
    open_storefront(router, "blue-mountain")
    assert storefront_links(client.get("/?before=not-an-id")) == ["blue-mountain"]


def varied_products():
    """Product bodies that exercise every field of the product document."""
    plain = product_body(ref="plain", sku_prefix="PL")
    rich = product_body(
        ref="rich", sku_prefix="RI", title={"en": 'Say "hé" \\ <b>', "fr": "Café « grillé » ☕", "es": "Ñandú"},
        description={}, image_urls=["https://img.example/a.png", "http://img.example/b?x=1&y=2"],
        ships_to_exclusions=["US", "CU"], visibility="b2b")
    rich["variants"].append(
        {"sku": "RI-BULK", "options": {}, "base_price": 10, "tiers": [{"min_quantity": 20, "unit_price": 0}],
         "moq": 10, "case_pack": 5, "hs_code": "09012100", "origin_country": "jm", "weight_g": 1, "length_mm": 1,
         "width_mm": 1, "height_mm": 1, "stock": {"KGN": 0, "MBJ": 7, "a-b/c": 3}})
    rich["variants"].append(
        {"sku": "RI-NONE", "options": {"grind": "fine", "roast": "dark"}, "base_price": 999_999, "tiers": [],
         "hs_code": "090121", "origin_country": "JM", "weight_g": 5, "length_mm": 2, "width_mm": 3, "height_mm": 4})
    return plain, rich


def test_the_product_detail_body_is_byte_for_byte_what_the_schema_dumps(client, router, keyed_product):
    from marketplace.catalog import service
    from marketplace.catalog.schemas import ProductSchema, product_document

    principal, auth, _ = keyed_product
    body_of = lambda document: client.application.json.response(document).get_data()  # noqa: E731  as jsonify sends it
    for body in varied_products():
        created = client.post("/api/v1/merchant/products", json=body, headers=auth)
        assert created.status_code == 201, created.get_json()
        record = service.get_product(router=router, principal=principal, product_id=created.get_json()["id"])
        by_schema = body_of(ProductSchema().dump(record))
        assert body_of(product_document(record)) == by_schema
        response = client.get(f"/api/v1/merchant/products/{record.id}", headers=auth)
        assert response.get_data() == by_schema
        assert response.headers["ETag"] == f'"{record.revision}"'
        by_sku = lambda document: {v["sku"]: v for v in document["variants"]}  # noqa: E731
        assert by_sku(response.get_json()) == by_sku(created.get_json())  # what was written is read back


def test_the_merchant_body_is_byte_for_byte_what_the_schema_dumps(client, router):
    import dataclasses

    from marketplace.merchants import service
    from marketplace.merchants.schemas import MerchantSchema, merchant_document

    body_of = lambda document: client.application.json.response(document).get_data()  # noqa: E731  as jsonify sends it
    merchant_id = open_storefront(router, "cafe-eleve", "MQ", name='Café "Élevé" <&>').merchant_id
    record = service.get(router=router, merchant_id=merchant_id)
    response = client.get(f"/api/v1/merchants/{merchant_id}")
    assert response.status_code == 200
    assert response.get_data() == body_of(MerchantSchema().dump(record))
    for variant in (record, dataclasses.replace(record, handle=None), dataclasses.replace(record, name="Ñ ☕ \\")):
        assert body_of(merchant_document(variant)) == body_of(MerchantSchema().dump(variant))
