"""Where a product lives, for the edge: a directory pointer product id -> home region.

The buyers' catalog is addressed by product id alone (`/api/v1/products/prd_...`), and the
edge routes a request by the directory's pointers only (marketplace.edge), never by opening
a shard. Product ids carry no region (ids survive a merchant's move), so the directory gets a
pointer per product, `kind = "product"`, in the table that already holds merchants' (no new
table, no migration). It is written by the `catalog.locate` consumer of
`catalog.product.changed`, which every write of a product already publishes (API, dashboard,
import, delete), and reads the product's current state, so it is idempotent and converges
whatever order or how often events arrive: the pointer exists exactly while the product does.

When each region keeps its own copy of the directory (issue 10 item 6), this consumer becomes
`everywhere=True`, writing each region's copy, as merchants' pointers will travel.

Until the consumer has run (a product created a moment ago) the edge has no pointer, and the
region the request entered answers: its own product, or 404. `cpu catalog locate` writes the
pointers of every product of the regions served, for products made before this existed.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.events.envelope import Envelope
from marketplace.regions.models import DirectoryEntry
from marketplace.regions.outbox import HandlerRegistry
from marketplace.regions.router import Router

CONSUMER = "catalog.locate"
TOPIC = "catalog.product.changed"
KIND = "product"


def register_handlers(registry: HandlerRegistry, router: Router) -> None:
    @registry.consumer(CONSUMER, TOPIC)
    def locate(envelope: Envelope) -> None:
        point(router, envelope.source_region, envelope.payload["product_id"])


def point(router: Router, region: str, product_id: str) -> bool:
    """Make the directory's pointer of the product agree with `region`'s shard; True if it changed."""
    with router.unit_of_work(region, read_only=True) as uow:
        exists = uow.session.scalar(select(Product.id).where(Product.id == product_id)) is not None
    with router.directory() as uow:
        entry = uow.session.get(DirectoryEntry, product_id)
        if exists and entry is None:
            uow.session.add(DirectoryEntry(party_id=product_id, kind=KIND, region=region))
        elif exists and entry.region != region:
            entry.region = region
        elif not exists and entry is not None and entry.kind == KIND:
            uow.session.delete(entry)
        else:
            return False
        uow.commit()
    router.locations.forget(product_id)
    return True


def point_all(router: Router) -> int:
    """Pointers for every product of the regions this process serves; how many changed."""
    changed = 0
    for region in router.served_regions:
        with router.unit_of_work(region, read_only=True) as uow:
            ids = list(uow.session.scalars(select(Product.id).order_by(Product.id)))
        changed += sum(point(router, region, product_id) for product_id in ids)
    return changed
