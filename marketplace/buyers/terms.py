"""Net payment terms: a merchant lets a buyer company pay by invoice within 30 or 60 days.

The grant is the merchant's, so it is kept on the merchant's shard and read there when the
merchant's region takes an order (`net_terms_for`, in the open unit of work): a checkout paid
"invoice" by a company without a grant from that merchant is refused for that merchant's part.
The company is named by id only, checked against the directory's pointer (buyers.directory),
as price lists do; the company's own data stays in its region. Granting and revoking are the
owner's (credit risk, like the account settings); staff may read the grants.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.buyers import directory
from marketplace.buyers.models import NetTermsGrant
from marketplace.errors import InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.regions.base import database_now
from marketplace.regions.router import Router


@cache
def allowed_days() -> tuple[int, ...]:
    return tuple(tomllib.loads(Path(__file__).with_name("terms.toml").read_text(encoding="utf-8"))["days"])


DAYS_RULE = "one of " + ", ".join(map(str, allowed_days()))


def net_terms_for(session: Session, merchant_id: str, company_id: str | None) -> int | None:
    """The days of net terms the merchant grants the company, or None (no grant, no company)."""
    if company_id is None:
        return None
    grant = session.get(NetTermsGrant, (merchant_id, company_id))
    return grant.days if grant else None


def list_(*, router: Router, principal: Principal) -> list[NetTermsGrant]:
    """The merchant's grants, newest first."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(select(NetTermsGrant).where(NetTermsGrant.merchant_id == principal.merchant_id)
                                        .order_by(NetTermsGrant.granted_at.desc(), NetTermsGrant.company_id)))


def grant(*, router: Router, principal: Principal, company_id: str, days: int) -> NetTermsGrant:
    """Grant (or change) a company's net terms; a company id that names no company is NotFound."""
    principal.require_owner("grant payment terms")
    if days not in allowed_days():
        raise InvalidInput("Net terms are granted for a set number of days.",
                           errors={"days": [DAYS_RULE]})
    directory.pointer(router=router, company_id=company_id)
    with router.unit_of_work(principal.region) as uow:
        now = database_now(uow.session)
        found = uow.session.get(NetTermsGrant, (principal.merchant_id, company_id))
        if found is None:
            found = NetTermsGrant(merchant_id=principal.merchant_id, company_id=company_id, region=principal.region)
            uow.session.add(found)
        found.days, found.granted_at = days, now
        found.granted_by = f"merchant:{principal.staff_id or principal.api_key_id}"
        uow.commit()
        return found


def revoke(*, router: Router, principal: Principal, company_id: str) -> None:
    """Take a company's net terms away: its next checkouts with this merchant pay otherwise."""
    principal.require_owner("revoke payment terms")
    with router.unit_of_work(principal.region) as uow:
        found = uow.session.get(NetTermsGrant, (principal.merchant_id, company_id))
        if found is None:
            raise NotFound(f"No net terms for {company_id}.")
        uow.session.delete(found)
        uow.commit()
