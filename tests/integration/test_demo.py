"""The demo data (`cpu demo`): about 30 merchants over every region with about 2,000 valid
variants, loaded idempotently, with sign-in details that work."""

from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace

import click
import pytest
from sqlalchemy import func, select

from marketplace import demo
from marketplace.buyers.models import Company
from marketplace.catalog import service as catalog
from marketplace.catalog.models import PriceList, Product, Variant
from marketplace.merchants import accounts
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.regions import regionmap
from marketplace.regions.ids import is_id
from marketplace.regions.models import DirectoryEntry, OutboxEvent, SignInHandle, StorefrontHandle

VARIANT_FIELDS = ("sku", "options", "base_price", "tiers", "moq", "case_pack", "hs_code", "origin_country",
                  "weight_g", "length_mm", "width_mm", "height_mm", "stock")
SIGN_IN = re.compile(r"Sign in as (?P<email>\S+) with the demo-only password '(?P<password>[^']+)'.*storefront: /s/(?P<handle>[a-z0-9-]+)$")


def _everything(router):
    """Every demo-relevant row of every shard and the directory: row counts, merchants,
    products (with their variants) and price lists."""
    counts, merchants, products, price_lists = Counter(), [], [], []
    for _region, uow in router.all_units_of_work(read_only=True):
        with uow:
            merchants += uow.session.scalars(select(Merchant)).all()
            products += uow.session.scalars(select(Product).order_by(Product.id)).all()
            price_lists += uow.session.scalars(select(PriceList).order_by(PriceList.id)).all()
            for model in (Merchant, StaffUser, Product, Variant, PriceList, Company, OutboxEvent):
                counts[model.__name__] += uow.session.scalar(select(func.count()).select_from(model))
    with router.directory(read_only=True) as uow:
        for model in (DirectoryEntry, StorefrontHandle, SignInHandle):
            counts[model.__name__] = uow.session.scalar(select(func.count()).select_from(model))
    return counts, merchants, products, price_lists


def _as_data(product: Product) -> dict:
    return {
        "ref": product.ref, "category": product.category, "title": product.title, "description": product.description,
        "image_urls": product.image_urls, "visibility": product.visibility, "ships_to_exclusions": product.ships_to_exclusions,
        "variants": [{name: getattr(variant, name) for name in VARIANT_FIELDS} for variant in product.variants],
    }


def _fingerprint(products: list[Product]) -> list[tuple]:
    return [(p.id, p.updated_at, _as_data(p), [v.id for v in p.variants]) for p in products]


def test_the_demo_is_a_valid_catalogue_in_every_region_and_a_second_load_changes_nothing(router):
    printed: list[str] = []
    first = demo.load(router, report=printed.append)
    counts, merchants, products, price_lists = _everything(router)

    # About 30 merchants, in all six regions, each homed where its country belongs.
    assert 28 <= len(merchants) <= 32
    assert {m.region for m in merchants} == set(router.regions.region_codes)
    assert all(router.regions.member(m.home_country).region == m.region for m in merchants)
    assert Counter(m.region for m in merchants).most_common()[-1][1] >= 4  # spread out, not piled in one region
    assert counts["StaffUser"] == counts["StorefrontHandle"] == counts["SignInHandle"] == len(merchants)

    # About 2,000 variants: about 65 per merchant over 12 to 20 products.
    assert 1800 <= counts["Variant"] <= 2200
    per_merchant = Counter(p.merchant_id for p in products)
    assert set(per_merchant) == {m.id for m in merchants}
    assert all(10 <= n <= 20 for n in per_merchant.values()), per_merchant
    variants_per_merchant = Counter(p.merchant_id for p in products for _ in p.variants)
    assert all(35 <= n <= 80 for n in variants_per_merchant.values()), variants_per_merchant

    # Every product passes the catalog's own rules, speaks its merchant's languages and is
    # priced in the merchant's currency.
    by_id = {m.id: m for m in merchants}
    for product in products:
        assert catalog.product_problems(_as_data(product)) == {}, product.ref
        merchant = by_id[product.merchant_id]
        assert set(product.title) == set(product.description) == {"en", *merchant.languages}, product.ref
        assert all(text.strip() for text in product.title.values())
        assert {v.currency for v in product.variants} == {merchant.default_currency}
        assert all(text != product.description["en"] for language, text in product.description.items() if language != "en")
    assert {"es", "fr", "nl"} <= {language for m in merchants for language in m.languages}

    variants = [v for p in products for v in p.variants]
    assert all(re.fullmatch(r"\d{6}", v.hs_code) for v in variants)
    assert all(v.moq % v.case_pack == 0 for v in variants)
    assert sum(v.case_pack > 1 for v in variants) >= 200  # wholesale terms on many items
    assert all(1 <= len(v.stock) <= 2 for v in variants)
    assert all(len(v.tiers) >= 1 for v in variants)
    visibility = Counter(p.visibility for p in products)
    assert visibility["b2b"] >= 3 and visibility["hidden"] >= 3
    rum = [p for p in products if p.category == "beverages/rum"]
    assert rum and all("SA" in p.ships_to_exclusions for p in rum)

    # B2B price lists for made-up buyer companies: percentages off and contract prices.
    assert len(price_lists) == len(demo.PRICE_LISTS)
    assert all(is_id(company, "cmp") for p in price_lists for company in p.company_ids)
    assert any(p.percent_off_bp for p in price_lists) and any(p.contract_prices for p in price_lists)
    variant_ids = {v.id for v in variants}
    assert all(set(p.contract_prices) <= variant_ids for p in price_lists)

    # One progress line per merchant, then how to sign in: and those details work.
    assert len(printed) == len(merchants) + 1
    assert {line.split()[0] for line in printed[:-1]} == set(router.regions.region_codes)
    found = SIGN_IN.search(printed[-1])
    assert found and "demo-only" in printed[-1], printed[-1]
    principal = accounts.sign_in(router=router, email=found["email"], password=found["password"])
    showcase = accounts.merchant_for_handle(router=router, handle=found["handle"])
    assert (principal.merchant_id, principal.region, principal.role) == (showcase.id, showcase.region, "owner")

    assert first.merchants_created == len(merchants)
    assert first.products_written == len(products) == first.products
    # registered, the directory pointers of the merchant and its owner, each product changed,
    # and the pointers of each made-up buyer company and its admin
    assert counts["Company"] == len({company for p in price_lists for company in p.company_ids})
    assert counts["OutboxEvent"] == 3 * len(merchants) + len(products) + 2 * counts["Company"]

    # A second load finds everything in place: the same output, no new rows, no new events,
    # no product touched.
    again: list[str] = []
    second = demo.load(router, report=again.append)
    counts_after, _, products_after, _ = _everything(router)
    assert again == printed
    assert counts_after == counts
    assert _fingerprint(products_after) == _fingerprint(products)
    assert (second.merchants_created, second.products_written, second.price_lists_created) == (0, 0, 0)


def test_the_catalogue_is_generated_the_same_every_time():
    regions = regionmap.load()
    for spec in demo.MERCHANTS:
        currency = regions.member(spec.country).currency
        full = demo.catalogue(spec, currency)
        assert [p["ref"] for p in full] and len({p["ref"] for p in full}) == len(full)
        assert full == demo.catalogue(spec, currency)
    assert demo.company_id("Kanto Coffee Importers") == demo.company_id("Kanto Coffee Importers")
    assert is_id(demo.company_id("Kanto Coffee Importers"), "cmp")
    assert len({spec.handle for spec in demo.MERCHANTS}) == len(demo.MERCHANTS)


def test_demo_data_is_refused_in_production():
    production = SimpleNamespace(settings=SimpleNamespace(env="production"))
    with pytest.raises(click.ClickException, match="refused in production"):
        demo.load(production, report=lambda _line: None)
