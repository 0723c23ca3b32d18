"""Reading merchants. Opening an account is accounts.sign_up, the one way to become a merchant."""

from __future__ import annotations

from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router


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
