"""Reading merchants. Opening an account is accounts.sign_up, the one way to become a merchant."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant, StaffUser
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


def owner_emails(*, router: Router, region: str, merchant_id: str) -> tuple[Merchant | None, list[str]]:
    """The merchant and its owners' addresses, read in its home region (where they live): for
    notices such as a new order. (None, []) when there is no such merchant there."""
    with router.unit_of_work(region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        emails = list(uow.session.scalars(select(StaffUser.email).where(
            StaffUser.merchant_id == merchant_id, StaffUser.role == "owner").order_by(StaffUser.created_at)))
    return merchant, emails if merchant is not None else []
