"""Search documents: the public face of a product, and nothing else.

A document is built from an allow-list of public catalog fields. Staff, buyers, addresses,
API keys, orders, tax numbers and legal names never reach it: they are not read here.

Versions. Two indexers (relays side by side, a merchant's rename beside a product's edit) can
read one product at different times and write in the other order. So every document carries
the product's revision, which every write of the product bumps (a merchant rename bumps its
products' too, see catalog.service.revise_merchant_products), and both engines replace a
document only with a higher version: an older read never overwrites a newer one. A removal
has a version as well, so that a copy read before it cannot bring the product back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from payments import fx


@dataclass(frozen=True)
class VariantDoc:
    id: str
    sku: str
    options: dict[str, str]
    price: int  # minor units, merchant currency, single unit
    tiers: list[dict[str, int]]
    moq: int
    case_pack: int
    in_stock: bool


@dataclass(frozen=True)
class SearchDocument:
    id: str
    merchant_id: str
    merchant_name: str
    merchant_handle: str | None
    merchant_region: str
    category: str
    category_path: list[str]  # the category and its ancestors, for subtree filters
    title: dict[str, str]  # language -> text
    description: dict[str, str]
    attributes: list[str]  # option values, e.g. "250 g", "dark roast"
    origin_countries: list[str]
    ships_to_exclusions: list[str]
    b2b_only: bool
    currency: str
    price: int  # lowest single-unit price over the variants
    price_usd: int  # the same in US cents, from the reference rates
    in_stock: bool
    popularity: int  # units sold; 0 until orders exist
    created_at: str  # ISO 8601 UTC
    variants: list[VariantDoc]
    version: int  # the product's revision: a document replaces only a lower version of itself
    image_url: str | None = None  # the product's first image, as the catalog stores it (absolute or site-relative)

    def as_dict(self) -> dict:
        return asdict(self)


# The version of the removal of a product that is gone: ids are never used again, so no copy
# of it may come after. Below Elasticsearch's limit for external versions (2**63 - 1).
GONE = 2**62


@dataclass(frozen=True)
class Removal:
    """A product that must not be found (deleted, or hidden), at the version it was taken off."""
    id: str
    version: int


@dataclass(frozen=True)
class Rejected:
    """A product whose document could not be built or written; the others went on without it."""
    id: str
    reason: str


def from_catalog(product, merchant) -> SearchDocument | None:
    """The document for a product, or None when it must not be searchable (hidden)."""
    if product.visibility == "hidden" or not product.variants:
        return None
    variants = [
        VariantDoc(v.id, v.sku, dict(v.options), v.base_price, list(v.tiers), v.moq, v.case_pack, v.in_stock)
        for v in product.variants
    ]
    cheapest = min(variants, key=lambda v: v.price)
    currency = product.variants[0].currency
    rates = fx.rates()
    return SearchDocument(
        id=product.id,
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        merchant_handle=merchant.handle,
        merchant_region=merchant.region,
        category=product.category,
        category_path=_ancestors(product.category),
        title=dict(product.title),
        description=dict(product.description),
        attributes=sorted({value for v in product.variants for value in v.options.values()}),
        origin_countries=sorted({v.origin_country for v in product.variants}),
        ships_to_exclusions=sorted(product.ships_to_exclusions),
        b2b_only=product.visibility == "b2b",
        currency=currency,
        price=cheapest.price,
        price_usd=rates.convert(cheapest.price, currency, "USD") if rates.knows(currency) else 0,
        in_stock=any(v.in_stock for v in variants),
        popularity=0,
        created_at=product.created_at.isoformat(),
        variants=variants,
        version=product.revision,
        image_url=product.image_urls[0] if product.image_urls else None,
    )


def _ancestors(slug: str) -> list[str]:
    """'food/coffee' -> ['food', 'food/coffee']."""
    parts = slug.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]
