"""What merchants may know of buyer companies: that a company id exists, and its home region,
from the directory's pointer (readable in every region), never the company's own data. Merchants
name companies on price lists and grant them terms by these ids.

Apart from the rest of the package, so that the catalog asks it without importing accounts."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.errors import NotFound
from marketplace.regions.ids import is_id
from marketplace.regions.models import DirectoryEntry
from marketplace.regions.router import Router


def pointer(*, router: Router, company_id: str) -> dict:
    """What a merchant may know of a company: that it exists, and its home region (from the
    directory pointer, readable in every region). NotFound otherwise."""
    unknown = NotFound(f"No buyer company {company_id}.")
    if not is_id(company_id, "cmp"):
        raise unknown
    with router.directory(read_only=True) as uow:
        entry = uow.session.get(DirectoryEntry, company_id)
        if entry is None or entry.kind != "company":
            raise unknown
        return {"id": entry.party_id, "region": entry.region}


def unknown_companies(*, router: Router, company_ids: list[str]) -> list[str]:
    """The ids among these that name no buyer company, in their order (for price lists)."""
    wanted = [company_id for company_id in company_ids if is_id(company_id, "cmp")]
    with router.directory(read_only=True) as uow:
        known = set(uow.session.scalars(select(DirectoryEntry.party_id).where(
            DirectoryEntry.party_id.in_(wanted), DirectoryEntry.kind == "company"))) if wanted else set()
    return [company_id for company_id in company_ids if company_id not in known]
