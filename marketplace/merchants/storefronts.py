"""Merchants as storefronts: found by handle, and listed newest first, a page at a time.

Both are public pages' reads, on every visit. A handle is resolved through the router's
cache of the directory rather than the directory itself; the merchant's own row, read from
its shard, is the authority, so a handle that has moved on to another merchant since it was
cached is forgotten and looked up again. The home page reads at most a page (plus one) of
merchants from each shard, whatever the number of merchants; the merchant ids, which sort by
time of creation across every region, are its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from marketplace.errors import RegionUnavailable
from marketplace.merchants import accounts, service
from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router

PER_PAGE = 30


@dataclass(frozen=True)
class StorefrontPage:
    merchants: list[Merchant]  # newest first
    more_before: str | None  # the cursor of the next page, when there is one
    unreachable: list[str]  # regions that could not be read


def for_handle(*, router: Router, handle: str) -> service.MerchantRecord:
    """The merchant whose storefront is at /s/<handle>, or MerchantNotFound. A string that
    could not be a handle never reaches the directory."""
    for _attempt in range(2 if accounts.HANDLE_SHAPE.match(handle) else 0):
        merchant_id = router.merchant_of_handle(handle)
        if merchant_id is None:
            break
        try:
            merchant = service.get(router=router, merchant_id=merchant_id)
        except MerchantNotFound:
            merchant = None
        if merchant is not None and merchant.handle == handle:
            return merchant
        router.locations.forget_handle(handle)  # renamed or gone since it was cached: ask again
    raise MerchantNotFound(handle)


def newest(*, router: Router, before: str | None = None) -> StorefrontPage:
    """The newest PER_PAGE storefronts created before the merchant id `before` (the newest of
    all without it), and whether older ones remain. A region that cannot be read is named,
    not fatal: one region down must not empty the home page."""
    query = select(Merchant).where(Merchant.handle.is_not(None))
    if before is not None and is_id(before, "mer"):
        query = query.where(Merchant.id < before)
    query = query.order_by(Merchant.id.desc()).limit(PER_PAGE + 1)
    found, unreachable = [], []
    for region, uow in router.all_units_of_work(read_only=True):
        try:
            with uow:
                found += uow.session.scalars(query).all()
        except RegionUnavailable:
            unreachable.append(region)
    found.sort(key=lambda merchant: merchant.id, reverse=True)
    page = found[:PER_PAGE]
    return StorefrontPage(page, page[-1].id if len(found) > PER_PAGE else None, unreachable)
