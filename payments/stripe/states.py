"""A checkout's PaymentIntent moves forward only, whatever order its news arrives in: the
provider's own answers and the webhook's events both go through `advance`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from payments.stripe.models import StripePayment


@dataclass(frozen=True)
class Status:
    name: str
    rank: int
    outcome: str | None  # authorised | declined | None (still to be decided)


@cache
def _table() -> dict:
    return tomllib.loads(Path(__file__).with_name("intent_states.toml").read_text())


def status_of(stripe_status: str, event_type: str | None = None) -> Status:
    table = _table()
    name = table["events"].get(event_type, stripe_status)
    entry = table["statuses"][name]
    return Status(name, entry["rank"], entry.get("outcome"))


@dataclass(frozen=True)
class Advance:
    payment: StripePayment
    outcome_changed: bool  # the saga must hear of it


def advance(session, *, checkout_id: str, intent: dict, event_type: str | None = None, created: int = 0) -> Advance:
    """Record what `intent` (a PaymentIntent body) says, unless what we know is further along
    (a higher rank, or the same rank from a later event)."""
    new = status_of(intent["status"], event_type)
    row = session.get(StripePayment, checkout_id, with_for_update=True)
    if row is None:
        row = StripePayment(checkout_id=checkout_id, region=session.info["database"], intent_id=intent["id"],
                            amount=intent["amount"], currency=intent["currency"].upper(), status=new.name,
                            rank=new.rank, event_created=created)
        session.add(row)
        return Advance(row, new.outcome is not None)
    if row.intent_id != intent["id"]:  # another intent naming this checkout (its metadata is anyone's to write)
        return Advance(row, False)
    old = status_of(row.status)
    if new.rank < old.rank or (new.rank == old.rank and created and created < row.event_created):
        return Advance(row, False)
    row.status, row.rank, row.event_created = new.name, new.rank, max(created, row.event_created)
    return Advance(row, new.outcome is not None and new.outcome != old.outcome)
