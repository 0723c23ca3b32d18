"""Search engine fixtures: every behavioural test runs on each engine.

The embedded engine always runs. Elasticsearch runs too when ELASTICSEARCH_URL is set, on
throwaway indices (`cpu-test-<random>`); when it is not set, the end of the run says so.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from search.documents import SearchDocument, VariantDoc

ENGINES = ["embedded", *(["elasticsearch"] if os.environ.get("ELASTICSEARCH_URL") else [])]


def make_engine(name: str, tmp_path):
    if name == "embedded":
        from search.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(tmp_path / "search")
    from search.engines.elastic import ElasticsearchEngine  # written alongside; imported only when used

    return ElasticsearchEngine(url=os.environ["ELASTICSEARCH_URL"], index_prefix=f"cpu-test-{uuid.uuid4().hex[:10]}")


def _dispose(engine) -> None:
    drop = getattr(engine, "drop", None) or getattr(engine, "close", None)
    if callable(drop):
        drop()


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, tmp_path_factory):
    """An engine holding catalogue(), shared by the read-only tests of a module."""
    engine = make_engine(request.param, tmp_path_factory.mktemp("search"))
    engine.rebuild(catalogue())
    yield engine
    _dispose(engine)


@pytest.fixture(params=ENGINES)
def fresh_engine(request, tmp_path):
    """An engine of its own holding catalogue(), for tests that change the index."""
    engine = make_engine(request.param, tmp_path)
    engine.rebuild(catalogue())
    yield engine
    _dispose(engine)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say which engines the search tests ran on, and how they fared: a missing Elasticsearch
    pass is never silent. (The URL is not printed: it may carry credentials.)"""
    terminalreporter.section("search engines")
    for name in ("embedded", "elasticsearch"):
        outcomes = {outcome: sum(1 for report in terminalreporter.stats.get(outcome, [])
                                 if f"[{name}" in getattr(report, "nodeid", "") and getattr(report, "when", "call") == "call")
                    for outcome in ("passed", "failed", "skipped")}
        if name in ENGINES:
            terminalreporter.write_line(f"{name:<14} {outcomes['passed']} passed, {outcomes['failed']} failed, {outcomes['skipped']} skipped")
        else:
            terminalreporter.write_line(f"{name:<14} the Elasticsearch pass did NOT run: ELASTICSEARCH_URL is not set")


# A small hand-written catalogue -------------------------------------------------------------

MERCHANTS = {
    # id: (name, handle, region, country)
    "mer_bluemountain": ("Blue Mountain Roasters", "blue-mountain-roasters", "kin", "JM"),
    "mer_cibao": ("Cibao Cacao y Café", "cibao-cacao", "sdq", "DO"),
    "mer_precheur": ("Distillerie du Prêcheur", "distillerie-du-precheur", "fdf", "MQ"),
    "mer_paramaribo": ("Paramaribo Kruiden", "paramaribo-kruiden", "pos", "SR"),
    "mer_bajan": ("Bajan Pepper Works", "bajan-pepper-works", "bgi", "BB"),
}
NO_ALCOHOL = ["KW", "SA"]
BIOSECURITY = ["AU", "NZ"]
START = datetime(2026, 3, 1, tzinfo=UTC)


def document(id: str, merchant_id: str, category: str, title: dict[str, str], *, description: dict[str, str] | None = None,
             price_usd: int = 1000, origin: str | None = None, excluded=(), b2b_only: bool = False, in_stock: bool = True,
             attributes=(), day: int = 0, popularity: int = 0, version: int = 1) -> SearchDocument:
    """A document as `from_catalog` would make it; prices in US cents (currency USD)."""
    name, handle, region, country = MERCHANTS[merchant_id]
    parts = category.split("/")
    return SearchDocument(
        id=id, merchant_id=merchant_id, merchant_name=name, merchant_handle=handle, merchant_region=region,
        category=category, category_path=["/".join(parts[: n + 1]) for n in range(len(parts))],
        title=title, description=description or {lang: "" for lang in title}, attributes=sorted(attributes),
        origin_countries=[origin or country], ships_to_exclusions=sorted(excluded), b2b_only=b2b_only,
        currency="USD", price=price_usd, price_usd=price_usd, in_stock=in_stock, popularity=popularity,
        created_at=(START + timedelta(days=day)).isoformat(),
        variants=[VariantDoc(f"var_{id}", f"SKU-{id}", {}, price_usd, [], 1, 1, in_stock)], version=version,
    )


def catalogue() -> list[SearchDocument]:
    return [
        document("prd_coffee_medium", "mer_bluemountain", "food/coffee", {"en": "Blue Mountain coffee, medium roast"},
                 description={"en": "Arabica from steep mountain slopes, roasted in small batches."},
                 price_usd=2400, attributes=["250 g", "whole bean"], day=1, popularity=40),
        document("prd_coffee_green", "mer_bluemountain", "food/coffee", {"en": "Green coffee beans for roasting, 30 kg jute sack"},
                 description={"en": "Washed green arabica for roasters, sold by the sack to the trade."},
                 price_usd=57000, excluded=BIOSECURITY, b2b_only=True, attributes=["30 kg jute sack"], day=2),
        document("prd_coffee_cibao", "mer_cibao", "food/coffee",
                 {"en": "Cibao coffee, dark roast", "es": "Café del Cibao, tueste oscuro"},
                 description={"en": "Dark-roasted arabica from the Cibao valley.",
                              "es": "Arábica de tueste oscuro del valle del Cibao."}, price_usd=1600, day=3),
        document("prd_chocolate", "mer_cibao", "food/cocoa-chocolate",
                 {"en": "Dark chocolate 70%", "es": "Chocolate negro 70 %"},
                 description={"en": "Tree-to-bar chocolate from Trinitario cocoa.",
                              "es": "Chocolate del árbol a la tableta, de cacao Trinitario."}, price_usd=450, day=4),
        document("prd_nibs", "mer_cibao", "food/cocoa-chocolate",
                 {"en": "Roasted cocoa nibs", "es": "Nibs de cacao tostados"}, price_usd=900, in_stock=False, day=5),
        document("prd_ron", "mer_cibao", "beverages/rum", {"en": "Aged rum, 8 years", "es": "Ron añejo 8 años"},
                 description={"en": "Matured in oak casks.", "es": "Envejecido en barricas de roble."},
                 price_usd=3200, excluded=NO_ALCOHOL, day=6),
        document("prd_rhum_vsop", "mer_precheur", "beverages/rum",
                 {"en": "Aged rhum agricole VSOP", "fr": "Rhum vieux agricole VSOP"},
                 description={"en": "Distilled from fresh cane juice and aged four years in oak.",
                              "fr": "Distillé à partir de pur jus de canne et vieilli quatre ans en fût de chêne."},
                 price_usd=4500, excluded=NO_ALCOHOL, day=7, popularity=10),
        document("prd_rhum_blanc", "mer_precheur", "beverages/rum",
                 {"en": "White rhum agricole 50%", "fr": "Rhum agricole blanc 50 %"},
                 price_usd=2800, excluded=NO_ALCOHOL, in_stock=False, day=8),
        document("prd_hibiscus_syrup", "mer_precheur", "food/sugar-syrups",
                 {"en": "Hibiscus flower syrup", "fr": "Sirop de fleurs d'hibiscus"},
                 description={"en": "Cane syrup steeped with dried hibiscus flowers.",
                              "fr": "Sirop de canne infusé aux fleurs d'hibiscus séchées."}, price_usd=800, day=9),
        document("prd_guava_paste", "mer_precheur", "food/preserves", {"en": "Guava cheese", "fr": "Pâte de goyave"},
                 price_usd=600, day=10),
        document("prd_madras", "mer_precheur", "textiles/madras",
                 {"en": "Madras fabric, red and yellow", "fr": "Tissu madras rouge et jaune"},
                 price_usd=1300, attributes=["per metre"], day=11),
        document("prd_cinnamon", "mer_paramaribo", "food/spices", {"en": "Ground cinnamon", "nl": "Gemalen kaneel"},
                 description={"en": "Sun-dried and freshly ground.", "nl": "In de zon gedroogd en vers gemalen."},
                 price_usd=550, day=12),
        document("prd_soap", "mer_paramaribo", "beauty/soaps-oils",
                 {"en": "Handmade coconut soap", "nl": "Handgemaakte zeep met kokos"}, price_usd=700, day=13),
        document("prd_sorrel_drink", "mer_bajan", "beverages/juices", {"en": "Sorrel drink with ginger"},
                 description={"en": "A Christmas favourite, pressed and bottled in Bridgetown."}, price_usd=350, day=14),
        document("prd_hot_sauce", "mer_bajan", "food/hot-sauces", {"en": "Bajan hot pepper sauce"},
                 description={"en": "Yellow mustard pepper sauce; a few drops go a long way."}, price_usd=650, day=15,
                 popularity=120),
        document("prd_scotch_bonnet", "mer_bajan", "food/hot-sauces", {"en": "Scotch bonnet mash"},
                 description={"en": "Fresh scotch bonnets crushed with salt and vinegar."}, price_usd=900, day=16),
        document("prd_guavaberry", "mer_bajan", "beverages", {"en": "Guavaberry liqueur"}, price_usd=2500,
                 excluded=NO_ALCOHOL, day=17),
        document("prd_fudge", "mer_bajan", "food/sugar-syrups", {"en": "Rum & raisin fudge <b>new</b>"}, price_usd=1000, day=18),
        document("prd_basket", "mer_bajan", "crafts/baskets", {"en": "Market basket with handles"},
                 description={"en": "Plaited by hand from palm leaf."}, price_usd=2100, excluded=BIOSECURITY,
                 attributes=["medium", "case of 6"], day=19),
    ]


def by_id(documents: list[SearchDocument]) -> dict[str, SearchDocument]:
    return {d.id: d for d in documents}


def changed(doc: SearchDocument, **changes) -> SearchDocument:
    return replace(doc, **changes)
