"""Merchant use cases. Each public function is one unit of work per region it touches."""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from marketplace.errors import Conflict, RegionUnavailable
from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant
from marketplace.regions import idempotency, outbox
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.models import RegistrationKey
from marketplace.regions.router import Router

log = logging.getLogger(__name__)


def register(*, router: Router, name: str, home_country: str, idempotency_key: str | None = None) -> Merchant:
    """Create a merchant on its home shard and point the directory at it.

    The directory entry is written first, with the registration's idempotency key: a pointer
    to a shard row that never came to be is harmless (lookups answer 404) and is removed again
    when the shard write fails, whereas a merchant row with no pointer could not be found at
    all. The key lives in the directory because the region follows from the request: the same
    key with another home country must still be seen (a 409), whatever the region.
    """
    region = router.regions.home_region(home_country).code
    key = idempotency.checked_key(idempotency_key)
    request = idempotency.fingerprint({"name": name, "home_country": home_country})
    existing = _replay(router, key, request)
    if existing is not None:
        return existing
    router.health.check(region)  # a region known to be down: say so before writing anything
    merchant_id = new_id("mer")
    try:
        router.assign(merchant_id, kind="merchant", region=region,
                      also=[RegistrationKey(key=key, fingerprint=request, merchant_id=merchant_id)] if key else [])
    except IntegrityError:  # a concurrent retry with this key registered first
        existing = _replay(router, key, request)
        if existing is not None:
            return existing
        raise
    committing = False
    try:
        with router.unit_of_work(region) as uow:
            merchant = Merchant(id=merchant_id, region=region, name=name, home_country=home_country)
            uow.session.add(merchant)
            outbox.publish(uow.session, "merchant.registered", {"merchant_id": merchant_id, "region": region})
            committing = True
            uow.commit()
    except Exception as exc:
        if committing and isinstance(exc, RegionUnavailable):
            # The connection died during COMMIT: the row may exist. Keep the pointer; a
            # pointer to nothing answers 404, a row without a pointer could never be found.
            raise
        _release_quietly(router, merchant_id, key)
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


def _release_quietly(router: Router, merchant_id: str, key: str | None) -> None:
    try:
        with router.directory() as uow:
            if key is not None:
                uow.session.execute(delete(RegistrationKey).where(RegistrationKey.key == key,
                                                                   RegistrationKey.merchant_id == merchant_id))
            uow.commit()
        router.release(merchant_id)
    except Exception:  # the original failure is the one the caller must see
        log.warning("could not remove directory entry of unwritten merchant %s", merchant_id, exc_info=True)


def _replay(router: Router, key: str | None, request: str) -> Merchant | None:
    """The merchant an earlier registration with this key created, or None."""
    if key is None:
        return None
    with router.directory(read_only=True) as uow:
        record = uow.session.get(RegistrationKey, key)
        merchant_id, fingerprint = (record.merchant_id, record.fingerprint) if record else (None, None)
    if merchant_id is None:
        return None
    if fingerprint != request:
        raise Conflict("This Idempotency-Key was already used with a different request.")
    region = router.region_of(merchant_id)
    merchant = None
    if region is not None:
        with router.unit_of_work(region, read_only=True) as uow:
            merchant = uow.session.get(Merchant, merchant_id)
    if merchant is None:  # the first request is still writing it, or died while committing
        raise Conflict("A registration with this Idempotency-Key is not finished; retry in a moment.")
    return merchant
