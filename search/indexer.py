"""Keeping the search index in step with the catalogs.

Near real time: each `catalog.product.changed` event on the outbox re-reads that product
from its merchant's shard and upserts (or removes) its document; `merchant.renamed` does the
same for every product of the merchant (the trading name is on each document). In full: `rebuild` reads
every region's catalog into a brand-new index and switches to it at once.

Out of order. Two relays can handle two changes of one product at once, and a rename's
re-reading of every product races single changes: the later write may carry the older read.
Documents carry the product's revision as their version (see search.documents), and the
engines keep the higher one, so whichever order the writes land in, the newer read stays.

One bad product. A product whose document cannot be built or written (data no document
can hold) is set aside, never allowed to fail the others: the handlers park a change event
for it (see `park`), a rebuild names it in its answer and indexes the rest.

A rebuild takes a while, and the relay keeps indexing meanwhile, into the index still in use:
a product that changes after the rebuild has read it would be stale in the new index. So after
the switch (and after a rebuild that failed, since the switch may still have happened), every
product with a change event since shortly before the rebuild began gets a fresh event, and
the relay writes its current state into the new index. Queued rather than re-read here, so
that these writes take their turn with the relay's others instead of racing them (with
several relays side by side, two events of one product can still be handled at once, as for
any two quick changes). `cpu search catch-up` queues the same again by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.errors import RegionUnavailable
from marketplace.merchants.accounts import MERCHANT_RENAMED
from marketplace.merchants.models import Merchant
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.ids import first_id_since
from marketplace.regions.models import OutboxEvent
from marketplace.events.envelope import Envelope
from marketplace.regions.outbox import HandlerRegistry
from marketplace.regions.router import Router
from search.documents import GONE, Rejected, Removal, SearchDocument, from_catalog
from search.gateways import SearchEngine

log = logging.getLogger(__name__)
TOPIC = "catalog.product.changed"
# Changes this long before a rebuild began are caught up too: a transaction that published its
# event before the start may commit after the rebuild read that product.
CATCH_UP_MARGIN = timedelta(minutes=5)
CATCH_UP_BATCH = 500  # events published per transaction
UPSERT_BATCH = 500  # documents per engine write when a merchant's products are indexed again


class PartialCatalog(RuntimeError):
    """Some regions could not be read; a rebuild from the rest would drop their products."""


CONSUMER = "search.index"


def register_handlers(registry: HandlerRegistry, router: Router, engine: Callable[[], SearchEngine]) -> None:
    """The `search.index` consumer. `engine` is asked for on each event, so the index is opened
    only once it is needed. Its side effect is idempotent (the engines keep the higher
    revision), as a consumer's must be when the inbox records it only after the write."""

    @registry.consumer(CONSUMER, TOPIC)
    def reindex_product(envelope: Envelope) -> None:
        region = envelope.source_region
        _apply(router, region, engine(), [read_document(router, region, envelope.payload["product_id"])])

    @registry.consumer(CONSUMER, MERCHANT_RENAMED)
    def reindex_merchant(envelope: Envelope) -> None:
        region, batch = envelope.source_region, []
        for document in _region_documents(router, region, merchant_id=envelope.payload["merchant_id"]):
            batch.append(document)
            if len(batch) == UPSERT_BATCH:
                _apply(router, region, engine(), batch)
                batch = []
        _apply(router, region, engine(), batch)


def read_document(router: Router, region: str, product_id: str) -> SearchDocument | Removal | Rejected:
    """The product's document as it is now; a Removal when it is gone or not public; Rejected
    when its data cannot make a document."""
    with router.unit_of_work(region, read_only=True) as uow:
        product = uow.session.get(Product, product_id)
        if product is None:
            return Removal(product_id, GONE)
        return _built(product, uow.session.get(Merchant, product.merchant_id))


def _built(product: Product, merchant: Merchant) -> SearchDocument | Removal | Rejected:
    try:
        document = from_catalog(product, merchant)
    except Exception as exc:  # one product's bad data must not hold up the others
        log.warning("search document of product %s cannot be built: %r", product.id, exc)
        return Rejected(product.id, f"cannot be built: {exc!r}")
    return Removal(product.id, product.revision) if document is None else document


def _apply(router: Router, region: str, engine: SearchEngine, changes: list[SearchDocument | Removal | Rejected]) -> None:
    """Write what can be written; park the rest (see park)."""
    removals = [c for c in changes if isinstance(c, Removal)]
    documents = [c for c in changes if isinstance(c, SearchDocument)]
    rejected = [c for c in changes if isinstance(c, Rejected)]
    if removals:
        engine.delete(removals)
    if documents:
        rejected += engine.upsert(documents)
    if rejected:
        park(router, region, rejected)


def park(router: Router, region: str, rejected: list[Rejected]) -> None:
    """Each product whose document could not be built or written gets a change event of its
    own, parked at once with the reason, and the event being handled goes through for the
    others. Parked rather than retried: the same data fails the same way every time, and
    retrying it held up everything else. Operators see it in `cpu outbox parked`; once the
    product is mended (any change to it indexes it again), `cpu outbox replay` re-runs it."""
    with router.unit_of_work(region) as uow:
        for product in rejected:
            event_id = outbox.publish_parked(uow.session, TOPIC, {"product_id": product.id}, reason=product.reason)
            log.error("search document of product %s not indexed; change event %s parked: %s", product.id, event_id,
                      product.reason, extra={"event_id": event_id, "topic": TOPIC})
        uow.commit()


def all_documents(router: Router) -> Iterator[SearchDocument | Rejected]:
    """Every searchable product of every region (Rejected for those whose data cannot make a
    document); refuses to go on past a region it cannot read."""
    for region in router.regions.region_codes:
        try:
            yield from _region_documents(router, region)
        except RegionUnavailable as exc:
            raise PartialCatalog(f"region {region} is unreachable; a rebuild now would drop its products; the current index is left as it was") from exc


def _region_documents(router: Router, region: str, batch: int = 500, *,
                      merchant_id: str | None = None) -> Iterator[SearchDocument | Rejected]:
    last_id = ""
    wanted = [Product.visibility != "hidden"] + ([Product.merchant_id == merchant_id] if merchant_id else [])
    while True:
        with router.unit_of_work(region, read_only=True) as uow:
            products = uow.session.scalars(
                select(Product).where(*wanted, Product.id > last_id).order_by(Product.id).limit(batch)
            ).all()
            merchants = {m.id: m for m in uow.session.scalars(select(Merchant).where(Merchant.id.in_({p.merchant_id for p in products})))}
            documents = [_built(p, merchants[p.merchant_id]) for p in products]
        yield from (d for d in documents if not isinstance(d, Removal))  # no variants yet: nothing to index
        if len(products) < batch:
            return
        last_id = products[-1].id


@dataclass(frozen=True)
class Rebuilt:
    indexed: int
    caught_up: int  # products changed around the rebuild, queued again for the relay
    skipped: list[Rejected] = field(default_factory=list)  # products whose documents could not be built or written


class CatchUpIncomplete(RuntimeError):
    """Some regions could not be reached to queue their recent changes again."""


def rebuild(router: Router, engine: SearchEngine, progress: Callable[[int], None] | None = None) -> Rebuilt:
    """A new index from every region's catalog. A product whose document cannot be built or
    written is skipped and named in the answer; the others are indexed all the same."""
    since = utcnow() - CATCH_UP_MARGIN
    unbuilt: list[Rejected] = []
    try:
        built = engine.rebuild(_set_aside(all_documents(router), unbuilt), progress)
    except PartialCatalog:
        raise  # refused before anything was built
    except BaseException:
        _catch_up_after_failure(router, since)
        raise
    return Rebuilt(built.indexed, catch_up(router, since=since), [*unbuilt, *built.rejected])


def _set_aside(documents: Iterable[SearchDocument | Rejected], rejected: list[Rejected]) -> Iterator[SearchDocument]:
    for document in documents:
        if isinstance(document, Rejected):
            rejected.append(document)
        else:
            yield document


def _catch_up_after_failure(router: Router, since: datetime) -> None:
    try:
        queued = catch_up(router, since=since)
    except Exception:  # the rebuild's own error is the one to report
        log.exception("after a failed rebuild, recent changes could not all be queued again")
    else:
        log.warning("rebuild failed; %d recently changed products queued again in case the switch happened", queued)


def catch_up(router: Router, *, since: datetime) -> int:
    """A fresh change event for every product with one since `since`, in every region it can
    reach; CatchUpIncomplete names the others once all were tried."""
    queued, unreachable = 0, []
    for region in router.regions.region_codes:
        try:
            queued += _catch_up_region(router, region, since)
        except RegionUnavailable:
            unreachable.append(region)
    if unreachable:
        raise CatchUpIncomplete(f"{queued} products queued again, but region(s) {', '.join(unreachable)} could not be "
                                f"reached; run `cpu search catch-up` once they are back")
    return queued


def _catch_up_region(router: Router, region: str, since: datetime) -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        payloads = uow.session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.id >= first_id_since("evt", since),
                                              OutboxEvent.topic == TOPIC, OutboxEvent.created_at >= since)
        ).all()
    changed = list({p["product_id"]: p for p in payloads}.values())
    for start in range(0, len(changed), CATCH_UP_BATCH):
        with router.unit_of_work(region) as uow:
            for payload in changed[start:start + CATCH_UP_BATCH]:
                outbox.publish(uow.session, TOPIC, payload)
            uow.commit()
    return len(changed)
