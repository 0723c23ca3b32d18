"""Reading merchants. Opening an account is accounts.sign_up, the one way to become a merchant.

A merchant read here is a `MerchantRecord`, a frozen copy of its row, read with one Core
statement: `GET /api/v1/merchants/<id>` and every storefront page read a merchant, and none of
them changes it, so the ORM's Session, identity map and instrumented object would be work for
nothing (most of the endpoint's time, measured by bench/hot_paths.py). Code that changes a
merchant loads the `Merchant` model in a writing unit of work (accounts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router
from marketplace.regions.uow import fixed


@dataclass(frozen=True)
class MerchantRecord:
    """A merchant as stored: the columns of `merchants` (a test keeps the two alike)."""

    id: str
    region: str
    name: str
    home_country: str
    created_at: datetime
    legal_name: str | None
    tax_id: str | None
    default_currency: str | None
    languages: list[str] | None
    handle: str | None

    @property
    def default_language(self) -> str:
        return (self.languages or ["en"])[0]


_MERCHANT = fixed(select(Merchant.__table__).where(Merchant.__table__.c.id == bindparam("merchant_id")))


def get(*, router: Router, merchant_id: str) -> MerchantRecord:
    """The merchant, read from its home shard."""
    region = router.region_of(merchant_id) if is_id(merchant_id, "mer") else None
    if region is None:
        raise MerchantNotFound(merchant_id)
    with router.unit_of_work(region, read_only=True) as uow:
        row = uow.read(_MERCHANT, {"merchant_id": merchant_id}).one_or_none()
    if row is None:
        raise MerchantNotFound(merchant_id)
    return MerchantRecord(**row._mapping)


def owner_emails(*, router: Router, region: str, merchant_id: str) -> tuple[Merchant | None, list[str]]:
    """The merchant and its owners' addresses, read in its home region (where they live): for
    notices such as a new order. (None, []) when there is no such merchant there."""
    with router.unit_of_work(region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        emails = list(uow.session.scalars(select(StaffUser.email).where(
            StaffUser.merchant_id == merchant_id, StaffUser.role == "owner").order_by(StaffUser.created_at)))
    return merchant, emails if merchant is not None else []
