"""The backend-neutral query model: what a buyer asks for, and what comes back.

Both engines (embedded tantivy and Elasticsearch) take a SearchQuery and return a
SearchResult; nothing above them knows which one answered.

Prices: documents carry each variant's price in the merchant's currency and, for filtering
and sorting across merchants, `price_usd` in US cents from the reference rates
(payments.fx). A buyer's price range arrives in the buyer's currency and is converted to US
cents before it reaches an engine; hits are converted back for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search.prices import round_bounds

SORTS = ("relevance", "price_asc", "price_desc", "newest")
AUDIENCES = ("retail", "b2b")
FACETS = ("category", "origin_country", "merchant", "price")
# The price facet's rungs when the caller names none: round US-dollar amounts, in cents (see
# search.prices, which gives each buyer's currency its own).
USD_RUNGS = round_bounds(2)
# The deepest result a search pages to (Elasticsearch's default max_result_window): past it,
# a buyer should narrow the search, and no engine is asked to sort a whole catalogue.
MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True)
class Intents:
    """What the buyer's words asked for beyond product words (search.understanding): engines
    rank by them, never filter by them."""

    origins: tuple[str, ...] = ()  # country codes: "coffee jamaica" -> ("JM",)
    measures: tuple[str, ...] = ()  # variant options as written in the catalogue: "70 cl", "10 kg"
    packs: tuple[str, ...] = ()  # "case of 12"
    b2b: bool = False  # "wholesale", "bulk", "mayorista"...

    def __bool__(self) -> bool:
        return bool(self.origins or self.measures or self.packs or self.b2b)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    language: str = "en"
    category: str | None = None  # a taxonomy slug: the whole subtree matches
    origin_countries: tuple[str, ...] = ()
    merchant_regions: tuple[str, ...] = ()
    merchant_ids: tuple[str, ...] = ()
    ships_to: str | None = None  # the buyer's country: products that cannot ship there never match
    price_min_usd: int | None = None  # US cents, inclusive
    price_max_usd: int | None = None  # US cents, inclusive
    in_stock: bool = False  # True: only products with stock
    audience: str = "retail"  # retail buyers never see B2B-only products; b2b buyers see all
    b2b_only: bool = False  # True: only B2B-only products
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    facets: bool = True
    price_range_usd: tuple[int, int | None] | None = None  # US cents [from, to), to None: open; the price facet's selection
    # Where the price facet's rungs start, in US cents, ascending from 0: the engine counts
    # products per rung [rungs[n], rungs[n + 1]) (facet value "n"; the last rung is open).
    price_rungs_usd: tuple[int, ...] = USD_RUNGS
    intents: Intents = field(default_factory=Intents)  # filled by search.understanding.understand


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    highlight: str  # the best snippet of title or description, matches wrapped in <mark>
    merchant_id: str
    merchant_name: str
    merchant_handle: str | None
    category: str
    origin_countries: tuple[str, ...]
    price: int  # lowest single-unit price, merchant currency, minor units
    currency: str
    price_usd: int
    in_stock: bool
    b2b_only: bool
    image_url: str | None = None  # the product's first image, absolute or site-relative as the catalog stores it


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    label: str | None = None  # what to show, when the engine knows it better than the value (a merchant's name)


# A merchant facet value carries the merchant's name, so that facets show names, not ids:
# engines count on "<merchant id>|<name>" and split it back with merchant_facet_value.
MERCHANT_FACET_SEPARATOR = "|"


def merchant_facet_key(merchant_id: str, merchant_name: str) -> str:
    return f"{merchant_id}{MERCHANT_FACET_SEPARATOR}{merchant_name}"


def merchant_facet_value(key: str, count: int) -> FacetValue:
    merchant_id, _, name = key.partition(MERCHANT_FACET_SEPARATOR)
    return FacetValue(merchant_id, count, name or None)


@dataclass
class SearchResult:
    items: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    corrected_terms: tuple[str, ...] = ()  # words matched through typo tolerance, for "did you mean"
