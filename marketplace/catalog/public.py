"""The buyers' catalog: a product, or a merchant's products, as this buyer sees them.

What a buyer sees depends on who they are (catalog.buyer_context): texts in their language
(the merchant's default language, then any written, when theirs is missing: the language
served is named), the price they pay from the catalog's one pricing function
(pricing.price_for: tiers, and a company's contract prices), that price also in their
display currency at the reference rate with the rate's date (payments.fx), whether the
product ships to their country, and the stock state (catalog.stock). Hidden products are
nobody's; B2B-only products are only a company buyer's; to anyone else both are simply not
found (404), so their existence does not leak.

A product lives on its merchant's shard. Its region comes from the directory's pointer (see
catalog.locator), and without one (a product written a moment ago, before its pointer) from
the regions this process serves: a region process never opens another region's shard, and
the router's ForeignRegion answers 421 naming the home region.

Pages of a merchant's products are in product id order (ids are time-sortable ULIDs, so a
product added while a buyer pages comes last and none is seen twice or skipped); the cursor
is the last id of the page, opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from babel.numbers import get_territory_currencies
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from marketplace.catalog import pricing, stock
from marketplace.catalog.buyer_context import BuyerContext
from marketplace.catalog.models import PriceList, Product
from marketplace.catalog.service import LANGUAGES, ProductNotFound, price_lists_as_terms, terms_of
from marketplace.errors import InvalidInput
from marketplace.merchants import service as merchants
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id
from marketplace.regions.regionmap import RegionMap
from marketplace.regions.router import Router
from payments import fx


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None
    limit: int


# One statement for the product and its variants (a buyer's app reads products often).
_PRODUCT = select(Product).options(joinedload(Product.variants)).where(Product.id == bindparam("product_id"))


def product_for_buyer(*, router: Router, product_id: str, buyer: BuyerContext, today: date | None = None) -> dict:
    """One product as this buyer sees it; ProductNotFound when it is not theirs to see."""
    if not is_id(product_id, "prd"):
        raise ProductNotFound(product_id)
    region, product = router.region_of(product_id), None
    for candidate in (region,) if region else router.served_regions:
        with router.unit_of_work(candidate, read_only=True) as uow:
            product = uow.session.scalars(_PRODUCT, {"product_id": product_id}).unique().one_or_none()
            lists = _price_lists(uow.session, product.merchant_id, buyer) if product is not None else []
        if product is not None:
            break
    if product is None or not _visible(product, buyer):
        raise ProductNotFound(product_id)
    merchant = merchants.get(router=router, merchant_id=product.merchant_id)
    return _view(product, merchant, buyer, lists, router.regions, today or utcnow().date())


def merchant_products(*, router: Router, merchant_id: str, buyer: BuyerContext, cursor: str | None = None,
                      limit: int | None = None, today: date | None = None) -> Page:
    """A page of the merchant's products this buyer may see, after `cursor`, in id order."""
    limit = limit or stock.public_settings()["paging"]["default_limit"]
    after = decode_cursor(cursor) if cursor else None
    merchant = merchants.get(router=router, merchant_id=merchant_id)  # MerchantNotFound: 404
    visible = ("public", "b2b") if buyer.company_id else ("public",)
    query = select(Product).where(Product.merchant_id == merchant.id, Product.visibility.in_(visible))
    if after is not None:
        query = query.where(Product.id > after)
    with router.unit_of_work(merchant.region, read_only=True) as uow:
        products = list(uow.session.scalars(query.order_by(Product.id).limit(limit + 1)))
        lists = _price_lists(uow.session, merchant.id, buyer)
        today = today or utcnow().date()
        items = [_view(p, merchant, buyer, lists, router.regions, today) for p in products[:limit]]
    more = len(products) > limit
    return Page(items=items, next_cursor=encode_cursor(products[limit - 1].id) if more else None, limit=limit)


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The product id a cursor continues after; InvalidInput (422) for anything else."""
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())["after"]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
        after = None
    if not isinstance(after, str) or not is_id(after, "prd"):
        raise InvalidInput("The cursor is not one this API gave out.", errors={"cursor": ["not a cursor of this list"]})
    return after


def _visible(product: Product, buyer: BuyerContext) -> bool:
    return product.visibility == "public" or (product.visibility == "b2b" and buyer.company_id is not None)


def _price_lists(session: Session, merchant_id: str, buyer: BuyerContext) -> list[pricing.PriceList]:
    if buyer.company_id is None:
        return []
    return price_lists_as_terms(list(session.scalars(select(PriceList).where(PriceList.merchant_id == merchant_id))))


def served_language(texts: dict[str, str], buyer: BuyerContext, merchant_default: str | None) -> str:
    """The buyer's first language the merchant wrote a title in; else the merchant's default;
    else the first written."""
    written = [language for language, text in texts.items() if text.strip()]
    for language in (*buyer.languages, merchant_default, *LANGUAGES, *sorted(written)):
        if language in written:
            return language
    return merchant_default or "en"


def display_currency(buyer: BuyerContext, merchant_currency: str, regions: RegionMap) -> str | None:
    """The currency prices are also shown in: the buyer's choice, else their country's (a
    member state's from the region map), else the merchant's own; None when no reference rate can convert to it."""
    rates = fx.rates()
    chosen = buyer.currency
    if chosen is None and buyer.country:
        member = regions.member(buyer.country)
        local = [member.currency] if member else get_territory_currencies(buyer.country)  # outside the union too
        chosen = next((code for code in local if rates.knows(code)), None)
    chosen = chosen or merchant_currency
    return chosen if rates.knows(chosen) and rates.knows(merchant_currency) else None


def _view(product: Product, merchant, buyer: BuyerContext, lists: list[pricing.PriceList], regions: RegionMap,
          today: date) -> dict:
    language = served_language(product.title, buyer, merchant.default_language)
    currency = product.variants[0].currency if product.variants else merchant.default_currency
    shown_in = display_currency(buyer, currency, regions) if currency else None
    return {
        "id": product.id, "merchant_id": merchant.id, "merchant_name": merchant.name, "category": product.category,
        "language": language, "title": product.title.get(language, ""),
        "description": product.description.get(language, ""),
        "image_urls": list(product.image_urls), "b2b_only": product.visibility == "b2b",
        "ships_to": {"country": buyer.country,
                     "ships": None if buyer.country is None else buyer.country not in product.ships_to_exclusions},
        "currency": currency, "display_currency": shown_in, "updated_at": product.updated_at.isoformat(),
        "variants": [_variant(v, buyer, lists, shown_in, today) for v in product.variants],
    }


def _variant(variant, buyer: BuyerContext, lists: list[pricing.PriceList], shown_in: str | None, today: date) -> dict:
    terms = terms_of(variant)

    def price_at(quantity: int) -> dict:
        quote = pricing.price_for(terms, quantity=quantity, today=today, company_id=buyer.company_id, price_lists=lists)
        return _price(quote, shown_in)

    tiers = []
    for tier in terms.tiers:
        quantity = orderable(terms, tier.min_quantity)
        if quantity is not None:
            tiers.append({"min_quantity": tier.min_quantity, "price": price_at(quantity)})
    return {"id": variant.id, "sku": variant.sku, "options": dict(variant.options), "stock": stock.stock_state(variant),
            "moq": variant.moq, "case_pack": variant.case_pack, "price": price_at(orderable(terms, 1)), "tiers": tiers}


def orderable(terms: pricing.VariantTerms, at_least: int) -> int | None:
    """The smallest quantity of at least `at_least` the merchant's terms accept (the minimum
    order, whole case packs); None beyond the marketplace's bounds."""
    wanted = max(at_least, terms.moq)
    quantity = -(-wanted // terms.case_pack) * terms.case_pack
    return quantity if quantity <= pricing.MAX_QUANTITY else None


def _price(quote: pricing.Quote, shown_in: str | None) -> dict:
    return {"quantity": quote.quantity, "unit_price": quote.unit_price, "total": quote.total,
            "currency": quote.currency, "rule": quote.rule, "explanation": quote.explanation,
            "price_list_id": quote.price_list_id, "display": _converted(quote, shown_in)}


def _converted(quote: pricing.Quote, target: str | None) -> dict | None:
    if target is None:
        return None
    rates = fx.rates()
    rate = rates.per_usd[target] / rates.per_usd[quote.currency]
    return {"currency": target, "unit_price": rates.convert(quote.unit_price, quote.currency, target),
            "total": rates.convert(quote.total, quote.currency, target), "rate": _decimal_text(rate),
            "rate_as_of": datetime.combine(rates.effective, time(0), UTC).isoformat()}


def _decimal_text(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.00000001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
