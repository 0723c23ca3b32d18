"""Addresses of a buyer or of a company, on their home shard. A caller only ever names
addresses of its own owner (the buyer, or the company it acts for): another owner's address
ids are simply not found."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.buyers.errors import BuyerNotFound
from marketplace.buyers.models import BuyerAddress
from marketplace.regions.ids import new_id
from marketplace.regions.router import Router

FIELDS = ("label", "recipient", "line1", "line2", "city", "postal_code", "country")


def list_(*, router: Router, region: str, owner_id: str) -> list[BuyerAddress]:
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(select(BuyerAddress).where(BuyerAddress.owner_id == owner_id)
                                        .order_by(BuyerAddress.created_at, BuyerAddress.id)))


def get(*, router: Router, region: str, owner_id: str, address_id: str) -> BuyerAddress:
    with router.unit_of_work(region, read_only=True) as uow:
        return _owned(uow.session, owner_id, address_id)


def add(*, router: Router, region: str, owner_id: str, data: dict) -> BuyerAddress:
    address = BuyerAddress(id=new_id("adr"), region=region, owner_id=owner_id,
                           **{name: data.get(name) for name in FIELDS})
    with router.unit_of_work(region) as uow:
        uow.session.add(address)
        uow.commit()
    return address


def delete(*, router: Router, region: str, owner_id: str, address_id: str) -> None:
    with router.unit_of_work(region) as uow:
        uow.session.delete(_owned(uow.session, owner_id, address_id))
        uow.commit()


def _owned(session, owner_id: str, address_id: str) -> BuyerAddress:
    address = session.get(BuyerAddress, address_id)
    if address is None or address.owner_id != owner_id:
        raise BuyerNotFound(f"address {address_id}")
    return address


def owned_in(session, *, owner_id: str, address_id: str) -> BuyerAddress:
    """In an open unit of work on the owner's shard (a checkout copying its shipping address)."""
    return _owned(session, owner_id, address_id)
