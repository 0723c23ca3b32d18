"""Where a buyer's mail goes. The buyer's address lives only in the buyer's home region, so
this is read there, in the consumer of `checkouts.confirmed` that runs in that region.

Until marketplace.buyers lands there is no buyer to read: None, and nothing is sent (the
consumer logs that). The lead wires this to marketplace.buyers' service function; the tests
put a fake lookup in its place."""

from __future__ import annotations

from sqlalchemy.orm import Session


def recipient_for_buyer(session: Session, buyer_id: str) -> str | None:
    """The buyer's email address, read with `session` on the buyer's home shard; None if unknown."""
    return None
