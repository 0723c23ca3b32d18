"""The public pages: the marketplace home, a storefront, a category and a product.

Anonymous visitors see public products only: hidden and B2B-only products are not found
here (the catalog's public reads filter them). Texts are in the visitor's language where the
merchant wrote one (see i18n).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, render_template, request

from marketplace.catalog import pricing, taxonomy
from marketplace.catalog import service as catalog
from marketplace.catalog.models import Product, Variant
from marketplace.errors import NotFound
from marketplace.merchants import storefronts
from marketplace.merchants.models import Merchant
from marketplace.money import Money
from marketplace.platform import router
from marketplace.storefront import i18n

blp = Blueprint("shop", __name__)


@blp.after_request
def _vary_on_language(response):
    response.vary.add("Accept-Language")
    return response


@blp.get("/")
def home():
    """The marketplace home: the newest storefronts a page at a time (`?before=<merchant id>`
    for older ones), and the regions that could not be read."""
    g.lang = i18n.page_language()
    page = storefronts.newest(router=router(), before=request.args.get("before"))
    regions = router().regions
    return render_template(
        "storefront/home.html",
        merchants=page.merchants,
        more_before=page.more_before,
        countries=regions.countries,
        unreachable=[regions.regions[code].name for code in page.unreachable],
    )


@blp.get("/s/<handle>")
def storefront(handle: str):
    """A merchant's storefront: its categories and public products."""
    merchant = _open_storefront(handle)
    products = catalog.public_products(router=router(), merchant=merchant)
    return render_template(
        "storefront/storefront.html", merchant=merchant, categories=category_tree(products),
        cards=[card(merchant, p) for p in products],
    )


@blp.get("/s/<handle>/c/<path:category>")
def category(handle: str, category: str):
    """The public products of one category and its subcategories."""
    merchant = _open_storefront(handle)
    if category not in taxonomy.categories():
        raise NotFound(f"No category {category}.")
    products = catalog.public_products(router=router(), merchant=merchant, category=category)
    return render_template(
        "storefront/category.html", merchant=merchant, category=taxonomy.categories()[category],
        trail=_trail(category), cards=[card(merchant, p) for p in products],
    )


@blp.get("/s/<handle>/p/<product_id>")
def product(handle: str, product_id: str):
    """A product: texts, the variant picker with a quote, volume prices, order terms."""
    merchant = _open_storefront(handle)
    found = catalog.public_product(router=router(), merchant=merchant, product_id=product_id)
    variant = _chosen_variant(found, request.args.get("variant"))
    title_lang, title = i18n.pick_text(found.title, merchant_default=merchant.default_language)
    description_lang, description = i18n.pick_text(found.description, merchant_default=merchant.default_language)
    return render_template(
        "storefront/product.html", merchant=merchant, product=found, title=title, title_lang=title_lang,
        description_paragraphs=[p.strip() for p in description.split("\n\n") if p.strip()],
        description_lang=description_lang, variant=variant, offer=offer(merchant, variant, request.args.get("quantity")),
        terms_in_words=order_terms(variant), trail=_trail(found.category),
        variant_rows=[(v, variant_label(v), v.in_stock) for v in found.variants],
        price_tables=[(variant_label(v), tier_rows(v)) for v in found.variants],
        excluded=", ".join(sorted(found.ships_to_exclusions)),
    )


def _open_storefront(handle: str) -> Merchant:
    merchant = storefronts.for_handle(router=router(), handle=handle)
    g.lang = i18n.page_language(merchant.default_language)
    return merchant


def _trail(slug: str) -> list[taxonomy.Category]:
    """The category and its ancestors, root first."""
    trail, known = [], taxonomy.categories()
    while slug:
        if slug in known:
            trail.insert(0, known[slug])
        slug = slug.rpartition("/")[0]
    return trail


@dataclass(frozen=True)
class CategoryNode:
    category: taxonomy.Category
    count: int
    children: list[CategoryNode]


def category_tree(products: list[Product]) -> list[CategoryNode]:
    """The categories holding these products (with their ancestors), as a tree with counts."""
    known = taxonomy.categories()
    counts: dict[str, int] = {}
    for product in products:
        for node in _trail(product.category):
            counts[node.slug] = counts.get(node.slug, 0) + 1

    def children(parent: str | None) -> list[CategoryNode]:
        return [CategoryNode(known[s], counts[s], children(s)) for s in sorted(counts) if known[s].parent == parent]

    return children(None)


@dataclass(frozen=True)
class Card:
    id: str
    title: str
    title_lang: str | None
    image_url: str | None
    price_from: str | None
    category: str


def card(merchant: Merchant, product: Product) -> Card:
    title_lang, title = i18n.pick_text(product.title, merchant_default=merchant.default_language)
    cheapest = min(product.variants, key=lambda v: v.base_price, default=None)
    price = Money(cheapest.base_price, cheapest.currency).format(g.lang) if cheapest else None
    known = taxonomy.categories().get(product.category)
    return Card(product.id, title, title_lang, (product.image_urls or [None])[0], price,
                known.name(g.lang) if known else product.category)


def _chosen_variant(product: Product, variant_id: str | None) -> Variant:
    by_id = {v.id: v for v in product.variants}
    return by_id.get(variant_id or "") or product.variants[0]


def variant_label(variant: Variant) -> str:
    if not variant.options:
        return variant.sku
    return ", ".join(f"{name}: {value}" for name, value in variant.options.items())


def tier_rows(variant: Variant) -> list[tuple[int, str]]:
    """(quantity from, formatted unit price) for each price step a buyer can reach."""
    terms = catalog.terms_of(variant)
    starts = [terms.moq] + [t.min_quantity for t in terms.tiers if t.min_quantity > terms.moq]
    return [(start, Money(pricing.tier_price(terms, start)[0], variant.currency).format(g.lang)) for start in starts]


@dataclass(frozen=True)
class Offer:
    quantity_text: str
    summary: str | None = None
    rule: str | None = None
    problem: str | None = None


def offer(merchant: Merchant, variant: Variant, quantity_text: str | None) -> Offer | None:
    """The quote for the quantity the visitor asked for, or why that quantity cannot be sold."""
    if quantity_text is None:
        return None
    t = _words()
    try:
        quantity = int(quantity_text.strip())
    except ValueError:
        return Offer(quantity_text, problem=t("bad_quantity"))
    if quantity < 1:
        return Offer(quantity_text, problem=t("bad_quantity"))
    try:
        quote = catalog.quote(router=router(), merchant_id=merchant.id, variant_id=variant.id, quantity=quantity)
    except pricing.QuantityRefused:
        return Offer(quantity_text, problem=refusal(variant, quantity))
    money = lambda amount: Money(amount, quote.currency).format(g.lang)  # noqa: E731
    summary = t("quote", quantity=quote.quantity, unit=money(quote.unit_price), total=money(quote.total))
    _, tier = pricing.tier_price(catalog.terms_of(variant), quantity)
    rule = t("rule_tier", quantity=tier.min_quantity) if quote.rule == "tier" and tier else t("rule_base")
    return Offer(quantity_text, summary=summary, rule=rule)


def refusal(variant: Variant, quantity: int) -> str:
    """Which of the merchant's terms the quantity breaks, in the visitor's words."""
    t = _words()
    if quantity < variant.moq:
        return t("below_moq", moq=variant.moq)
    suggestion = max(variant.moq, -(-quantity // variant.case_pack) * variant.case_pack)
    return t("not_case_pack", case_pack=variant.case_pack, suggestion=suggestion)


def order_terms(variant: Variant) -> list[str]:
    """The minimum order and the case pack, in words."""
    t = _words()
    moq = t("moq_words", moq=variant.moq) if variant.moq > 1 else t("moq_one")
    if variant.case_pack == 1:
        return [moq, t("case_one")]
    examples = ", ".join(str(variant.moq + n * variant.case_pack) for n in range(3))
    return [moq, t("case_words", case_pack=variant.case_pack, examples=examples)]


def _words():
    return lambda key, **values: i18n.translate(g.lang, key, **values)
