"""A buyer company: its users with their roles (roles.toml says who may do what), its
addresses. What merchants may know of it is in buyers.directory.

A company and all of its users live in the company's home region, on one shard, so managing
them is one transaction there."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.buyers import accounts, addresses, tokens
from marketplace.buyers.errors import BuyerNotFound
from marketplace.buyers.identity import BuyerPrincipal, company_roles
from marketplace.buyers.models import Buyer, BuyerAddress, Company
from marketplace.errors import Conflict, InvalidInput
from marketplace.merchants import name_claims
from marketplace.merchants.auth import hash_password, password_problems
from marketplace.regions.ids import new_id
from marketplace.regions.router import Router


def get(*, router: Router, principal: BuyerPrincipal) -> Company:
    """The company the buyer acts for."""
    company_id = principal.company_for("company.read")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return uow.session.get(Company, company_id)


def list_users(*, router: Router, principal: BuyerPrincipal) -> list[Buyer]:
    company_id = principal.company_for("users.read")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(select(Buyer).where(Buyer.company_id == company_id)
                                        .order_by(Buyer.created_at, Buyer.id)))


def add_user(*, router: Router, principal: BuyerPrincipal, email: str, password: str, name: str,
             role: str = "buyer") -> Buyer:
    """An admin adds a colleague, who signs in with their own email and password. They are a
    buyer homed in the company's region, with the company's country."""
    company_id = principal.company_for("users.manage")
    problems = password_problems(password)
    if role not in company_roles():
        problems["role"] = [f"one of {', '.join(company_roles())}"]
    if problems:
        raise InvalidInput("The user's details are not valid.", errors=problems)
    company = get(router=router, principal=principal)
    user = Buyer(id=new_id("buy"), region=principal.region, email=email.strip().lower(), password_hash=hash_password(password),
                 name=name, home_country=company.country, language=principal.language, currency=principal.currency,
                 company_id=company_id, company_role=role)
    names = accounts.email_claims(router, user)
    name_claims.claim(router, claims=names)
    name_claims.write_claimed(router, claims=names, write=lambda session: session.add(user))
    return user


def change_role(*, router: Router, principal: BuyerPrincipal, user_id: str, role: str) -> Buyer:
    """Give a user of the company another role; the last admin keeps theirs."""
    company_id = principal.company_for("users.manage")
    if role not in company_roles():
        raise InvalidInput("Not a company role.", errors={"role": [f"one of {', '.join(company_roles())}"]})
    with router.unit_of_work(principal.region) as uow:
        user = _member(uow.session, company_id, user_id)
        if user.company_role == "admin" and role != "admin":
            _keep_an_admin(uow.session, company_id)
        user.company_role = role
        uow.commit()
    tokens.forget(router, buyer_id=user_id)
    return user


def remove_user(*, router: Router, principal: BuyerPrincipal, user_id: str) -> None:
    """Take a user out of the company: they stay a buyer, acting for themselves only."""
    company_id = principal.company_for("users.manage")
    with router.unit_of_work(principal.region) as uow:
        user = _member(uow.session, company_id, user_id)
        if user.company_role == "admin":
            _keep_an_admin(uow.session, company_id)
        user.company_id, user.company_role = None, None
        uow.commit()
    tokens.forget(router, buyer_id=user_id)


def list_addresses(*, router: Router, principal: BuyerPrincipal) -> list[BuyerAddress]:
    company_id = principal.company_for("addresses.read")
    return addresses.list_(router=router, region=principal.region, owner_id=company_id)


def add_address(*, router: Router, principal: BuyerPrincipal, data: dict) -> BuyerAddress:
    company_id = principal.company_for("addresses.manage")
    return addresses.add(router=router, region=principal.region, owner_id=company_id, data=data)


def delete_address(*, router: Router, principal: BuyerPrincipal, address_id: str) -> None:
    company_id = principal.company_for("addresses.manage")
    addresses.delete(router=router, region=principal.region, owner_id=company_id, address_id=address_id)


def _member(session, company_id: str, user_id: str) -> Buyer:
    user = session.get(Buyer, user_id)
    if user is None or user.company_id != company_id:
        raise BuyerNotFound(f"user {user_id} in your company")
    return user


def _keep_an_admin(session, company_id: str) -> None:
    """Conflict unless another admin stays. The admins' rows are locked (PostgreSQL), so two
    admins demoting each other at once take turns and the second is refused."""
    admins = session.scalars(select(Buyer.id).where(Buyer.company_id == company_id, Buyer.company_role == "admin")
                             .with_for_update()).all()
    if len(admins) <= 1:
        raise Conflict("A company keeps at least one admin; make another user admin first.")
