"""Keeping the search index in step with the catalogs.

Near real time: each `catalog.product.changed` event on the outbox re-reads that product
from its merchant's shard and upserts (or removes) its document. In full: `rebuild` reads
every region's catalog into a brand-new index and switches to it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.merchants.models import Merchant
from marketplace.regions.outbox import Event, HandlerRegistry
from marketplace.regions.router import Router
from search.documents import SearchDocument, from_catalog
from search.gateways import SearchEngine

log = logging.getLogger(__name__)
TOPIC = "catalog.product.changed"


class PartialCatalog(RuntimeError):
    """Some regions could not be read; a rebuild from the rest would drop their products."""


def register_handlers(registry: HandlerRegistry, router: Router, engine: Callable[[], SearchEngine]) -> None:
    """`engine` is asked for on each event, so the index is opened only once it is needed."""

    @registry.on(TOPIC)
    def reindex_product(event: Event) -> None:
        document = read_document(router, event.region, event.payload["product_id"])
        if document is None:
            engine().delete([event.payload["product_id"]])
        else:
            engine().upsert([document])


def read_document(router: Router, region: str, product_id: str) -> SearchDocument | None:
    """The product's document as it is now, or None when it is gone or not public."""
    with router.unit_of_work(region, read_only=True) as uow:
        product = uow.session.get(Product, product_id)
        if product is None:
            return None
        merchant = uow.session.get(Merchant, product.merchant_id)
        return from_catalog(product, merchant)


def all_documents(router: Router) -> Iterator[SearchDocument]:
    """Every searchable product of every region; refuses to go on past a region it cannot read."""
    from marketplace.errors import RegionUnavailable

    for region in router.regions.region_codes:
        try:
            yield from _region_documents(router, region)
        except RegionUnavailable as exc:
            raise PartialCatalog(f"region {region} is unreachable; a rebuild now would drop its products") from exc


def _region_documents(router: Router, region: str, batch: int = 500) -> Iterator[SearchDocument]:
    last_id = ""
    while True:
        with router.unit_of_work(region, read_only=True) as uow:
            products = uow.session.scalars(
                select(Product).where(Product.visibility != "hidden", Product.id > last_id).order_by(Product.id).limit(batch)
            ).all()
            merchants = {m.id: m for m in uow.session.scalars(select(Merchant).where(Merchant.id.in_({p.merchant_id for p in products})))}
            documents = [from_catalog(p, merchants[p.merchant_id]) for p in products]
        yield from (d for d in documents if d is not None)
        if len(products) < batch:
            return
        last_id = products[-1].id


def rebuild(router: Router, engine: SearchEngine, progress: Callable[[int], None] | None = None) -> int:
    return engine.rebuild(all_documents(router), progress)
