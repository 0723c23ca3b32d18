"""Where a buyer's mail goes. The buyer's address lives only in the buyer's home region, so
this is read there, in the consumer of `checkouts.confirmed` that runs in that region."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.buyers.models import Buyer


def recipient_for_buyer(session: Session, buyer_id: str) -> str | None:
    """The buyer's email address, read with `session` on the buyer's home shard; None if unknown."""
    buyer = session.get(Buyer, buyer_id)
    return buyer.email if buyer is not None else None
