"""Search for buyers: turns what a buyer asks (prices in their currency, their country) into
a SearchQuery for whichever engine runs, and the answer back into their currency.

The buyer's currency is the public catalog's display currency (catalog.public.display_currency):
the request's `currency`, else the signed-in buyer's, else their country's (`ships_to`, else
the signed-in buyer's country), else US dollars, where a product page falls back to the
merchant's own. Price facet buckets are round in that currency (search.prices)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from babel import Locale
from flask import url_for

from marketplace.catalog import taxonomy
from marketplace.catalog.buyer_context import BuyerContext
from marketplace.catalog.public import display_currency
from marketplace.errors import InvalidInput
from marketplace.money import Money, MoneyError
from payments import fx
from search import prices
from search.gateways import SearchEngine
from search.query import SearchQuery, SearchResult


def audience_for(buyer: object | None) -> str:
    """Whose products `buyer` may find (None: an anonymous caller): B2B-only products are for
    business buyers, a signed-in buyer acting for a company (a marketplace.buyers
    BuyerPrincipal whose `is_business`), and the audience comes from who the caller is, never
    from what the request says. This is the one place that grants "b2b"."""
    return "b2b" if getattr(buyer, "is_business", False) else "retail"


def currency_for(args: dict, buyer: object | None = None, regions=None) -> str:
    """The currency the buyer sees prices in (see the module docstring); `regions` (the region
    map) names member states' currencies, without it a country does not choose one."""
    country = args.get("ships_to") or getattr(buyer, "country", None)
    context = BuyerContext(country=country if regions is not None else None,
                           currency=args.get("currency") or getattr(buyer, "currency", None))
    return display_currency(context, "USD", regions) or "USD"


def build_query(args: dict, *, audience: str, currency: str = "USD") -> SearchQuery:
    """From validated request arguments (see search.schemas) to the engine-neutral query, for
    the caller's audience (see audience_for), prices in `currency`."""
    rates = fx.rates()
    if not rates.knows(currency):
        raise InvalidInput(f"No exchange rate for {currency}.", errors={"currency": [f"no reference rate for {currency}"]})
    bounds = {}
    for name in ("price_min", "price_max"):
        if args.get(name) is not None:
            try:
                amount = Money.parse(args[name], currency).amount
            except MoneyError as exc:
                raise InvalidInput(str(exc), errors={name: [str(exc)]}) from exc
            bounds[f"{name}_usd"] = rates.convert(amount, currency, "USD")
    if bounds.get("price_min_usd") is not None and bounds.get("price_max_usd") is not None and bounds["price_min_usd"] > bounds["price_max_usd"]:
        raise InvalidInput("price_min is above price_max.", errors={"price_min": ["above price_max"]})
    if args.get("price_bucket") is not None:
        try:
            bounds["price_range_usd"] = prices.selection_usd(args["price_bucket"], currency)
        except ValueError as exc:
            raise InvalidInput(str(exc), errors={"price_bucket": [str(exc)]}) from exc
    return SearchQuery(
        text=args.get("q", "").strip(),
        language=args["lang"],
        category=args.get("category"),
        origin_countries=tuple(args.get("origin", ())),
        merchant_regions=tuple(args.get("region", ())),
        merchant_ids=tuple(args.get("merchant", ())),
        ships_to=args.get("ships_to"),
        in_stock=args["in_stock"],
        audience=audience,
        b2b_only=args["b2b_only"],
        sort=args["sort"],
        offset=(args["page"] - 1) * args["per_page"],
        limit=args["per_page"],
        price_rungs_usd=prices.ladder(currency).usd,
        **bounds,
    )


MAX_SUGGESTED = 3  # searches a buyer who found nothing is offered
MAX_TRIED = 6  # ...out of this many tried: each costs one search, and only a miss pays it


def search(*, engine: SearchEngine, args: dict, buyer: object | None = None, regions=None) -> dict:
    """A page of hits in the buyer's language and currency, with facets and, when nothing is
    found, searches that would find something."""
    currency = currency_for(args, buyer, regions)
    query = build_query(args, audience=audience_for(buyer), currency=currency)
    result = engine.search(query)
    suggested = instead(engine, query) if result.total == 0 and query.text.strip() else []
    return present(result, currency=currency, language=args["lang"], page=args["page"], per_page=args["per_page"],
                   suggestions=suggested)


def instead(engine: SearchEngine, query: SearchQuery) -> list[dict]:
    """What would find something when a text finds nothing under the buyer's filters: the text
    without one of its words, then each word alone, then the text without the filters. Each
    with how many products it finds, so the app can say "no 'rhum vanille cacao'; try 'rhum
    vanille' (12)"."""
    words = query.text.split()
    texts = [" ".join(words[:n] + words[n + 1:]) for n in range(len(words))] if len(words) > 1 else []
    texts += [w for w in words if len(words) > 1]
    tries = [replace(query, text=t, offset=0, limit=1, facets=False) for t in dict.fromkeys(texts)][: MAX_TRIED - 1]
    tries.append(SearchQuery(text=query.text, language=query.language, audience=query.audience, limit=1, facets=False))
    found = []
    for attempt in tries:
        total = engine.search(attempt).total
        if total:
            found.append({"q": attempt.text, "total": total, "without_filters": attempt is tries[-1]})
        if len(found) == MAX_SUGGESTED:
            break
    return found


def present(result: SearchResult, *, currency: str, language: str, page: int, per_page: int,
            suggestions: list[dict] | None = None) -> dict:
    rates = fx.rates()
    items = []
    for hit in result.items:
        price = rates.convert(hit.price, hit.currency, currency) if rates.knows(hit.currency) else None
        items.append({
            "id": hit.id, "title": hit.title, "highlight": hit.highlight, "score": round(hit.score, 4),
            "merchant": {"id": hit.merchant_id, "name": hit.merchant_name, "handle": hit.merchant_handle},
            "category": hit.category, "origin_countries": list(hit.origin_countries),
            "price": {"amount": hit.price, "currency": hit.currency},
            "buyer_price": {"amount": price, "currency": currency} if price is not None else None,
            "in_stock": hit.in_stock, "b2b_only": hit.b2b_only, **links(hit),
        })
    labels = {
        "category": lambda v: _category_name(v.value, language),
        "origin_country": lambda v: _country_names(language).get(v.value, v.value),
        "merchant": lambda v: v.label or v.value,
    }
    facets = {name: [{"value": v.value, "count": v.count, "label": labels[name](v)} for v in values]
              for name, values in result.facets.items() if name != "price"}
    if "price" in result.facets:
        facets["price"] = price_facet(result.facets["price"], currency, language)
    return {"items": items, "total": result.total, "facets": facets, "page": page, "per_page": per_page,
            "corrected_terms": list(result.corrected_terms), "suggestions": suggestions or []}


def links(hit) -> dict[str, str | None]:
    """What a phone needs to show a hit and open it: the product's first image (as the catalog
    stores it), its storefront page (None when it has none: its merchant has no storefront
    handle, or it is B2B-only, which storefronts do not show) and the buyers' API for it, both
    as paths on this site."""
    shown = hit.merchant_handle and not hit.b2b_only
    page = url_for("storefront.shop.product", handle=hit.merchant_handle, product_id=hit.id) if shown else None
    return {"image_url": hit.image_url, "public_url": page,
            "api_url": url_for("catalog_public.PublicProduct", product_id=hit.id)}


def _category_name(slug: str, language: str) -> str:
    category = taxonomy.categories().get(slug)
    return category.name(language) if category else slug


@cache
def _country_names(language: str) -> dict[str, str]:
    """ISO 3166 codes to country names in that language (CLDR, through Babel)."""
    return dict(Locale.parse(language).territories)


def price_facet(counted, currency: str, language: str) -> list[dict]:
    """The engine's counts per rung of the buyer's currency, merged into the round buckets shown
    (search.prices): bounds as money, the value to send back as price_bucket, a label."""
    counts = {int(v.value): v.count for v in counted}
    return [{"value": bucket.value, "count": bucket.count, "label": prices.label(bucket, currency, language),
             "min": {"amount": bucket.low, "currency": currency},
             "max": None if bucket.high is None else {"amount": bucket.high, "currency": currency}}
            for bucket in prices.buckets(counts, prices.ladder(currency))]


def suggest(*, engine: SearchEngine, prefix: str, language: str, limit: int = 8, buyer: object | None = None) -> list[str]:
    """Completions of the products the caller may find: the same audience as its searches."""
    if not prefix.strip():
        return []
    return engine.suggest(prefix.strip(), language=language, limit=limit, audience=audience_for(buyer))


def without(query: SearchQuery, **changes) -> SearchQuery:
    return replace(query, **changes)
