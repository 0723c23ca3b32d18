"""Merchant use cases. Each public function is one unit of work per region it touches."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from marketplace.errors import RegionUnavailable
from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant
from marketplace.regions import idempotency, outbox
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.router import Router

REGISTER_SCOPE = "merchant.register"
log = logging.getLogger(__name__)


def register(*, router: Router, name: str, home_country: str, idempotency_key: str | None = None) -> Merchant:
    """Create a merchant on its home shard and point the directory at it.

    The directory entry is written first: a pointer to a shard row that never came to be is
    harmless (lookups answer 404) and is removed again when the shard write fails, whereas a
    merchant row with no pointer could not be found at all.
    """
    region = router.regions.home_region(home_country).code
    key = idempotency.checked_key(idempotency_key)
    request = idempotency.fingerprint({"name": name, "home_country": home_country})
    existing = idempotency.replayed(router, region, scope=REGISTER_SCOPE, key=key, request_fingerprint=request, fetch=_fetch)
    if existing is not None:
        return existing
    router.health.check(region)  # a region known to be down: say so before writing anything
    merchant_id = new_id("mer")
    router.assign(merchant_id, kind="merchant", region=region)
    committing = False
    try:
        with router.unit_of_work(region) as uow:
            merchant = Merchant(id=merchant_id, region=region, name=name, home_country=home_country)
            uow.session.add(merchant)
            if key is not None:
                idempotency.remember(uow.session, scope=REGISTER_SCOPE, key=key, request_fingerprint=request, resource_id=merchant_id)
            outbox.publish(uow.session, "merchant.registered", {"merchant_id": merchant_id, "region": region})
            committing = True
            uow.commit()
    except Exception as exc:
        if committing and isinstance(exc, RegionUnavailable):
            # The connection died during COMMIT: the row may exist. Keep the pointer; a
            # pointer to nothing answers 404, a row without a pointer could never be found.
            raise
        _release_quietly(router, merchant_id)
        if isinstance(exc, IntegrityError):  # a concurrent retry won the race
            existing = idempotency.replayed(router, region, scope=REGISTER_SCOPE, key=key, request_fingerprint=request,
                                            fetch=_fetch)
            if existing is not None:
                return existing
        raise
    return merchant


def get(*, router: Router, merchant_id: str) -> Merchant:
    """The merchant, read from its home shard."""
    region = router.region_of(merchant_id) if is_id(merchant_id, "mer") else None
    if region is None:
        raise MerchantNotFound(merchant_id)
    with router.unit_of_work(region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, merchant_id)
    if merchant is None:
        raise MerchantNotFound(merchant_id)
    return merchant


def _release_quietly(router: Router, merchant_id: str) -> None:
    try:
        router.release(merchant_id)
    except Exception:  # the original failure is the one the caller must see
        log.warning("could not remove directory entry of unwritten merchant %s", merchant_id, exc_info=True)


def _fetch(session, merchant_id: str) -> Merchant | None:
    return session.get(Merchant, merchant_id)
