"""The double-entry ledger: every movement of money is one posting of entries that balance
per currency, in integer minor units (debit +, credit -), in the region whose merchant's
money it is. Postings are never changed: a correction is another posting. A posting has a
`key` naming what happened ("capture:<order>"), unique, so a redelivered event posts once.
A balance is a sum of entries, never a number kept elsewhere (docs/decisions/0008).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import func, select

from marketplace.errors import InvalidInput
from marketplace.money import minor_units
from marketplace.regions.ids import new_id
from payments.models import LedgerEntry, LedgerPosting

PAYABLE = ("merchant_held", "merchant_available")


@cache
def settings() -> dict:
    return tomllib.loads(Path(__file__).with_name("ledger.toml").read_text(encoding="utf-8"))


class Unbalanced(ValueError):
    """A posting whose entries do not sum to zero in some currency: a bug, never stored."""


@dataclass(frozen=True)
class Entry:
    account: str
    amount: int  # debit +, credit -
    currency: str
    merchant_id: str | None = None
    order_id: str | None = None
    original_amount: int | None = None
    original_currency: str | None = None
    fx_rate: str | None = None
    fx_source: str | None = None


def check_balanced(entries: list[Entry]) -> None:
    accounts = settings()["accounts"]
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.account not in accounts:
            raise Unbalanced(f"unknown account {entry.account!r}")
        if not isinstance(entry.amount, int) or isinstance(entry.amount, bool):
            raise Unbalanced(f"{entry.amount!r} is not a whole number of minor units")
        minor_units(entry.currency)
        totals[entry.currency] += entry.amount
    if not entries or any(totals.values()):
        raise Unbalanced(f"entries do not balance: {dict(totals)}")


def post(session, *, key: str, kind: str, entries: list[Entry], merchant_id: str | None = None,
         memo: str | None = None) -> LedgerPosting:
    """Record a balanced posting once: the same key again returns the first (nothing new)."""
    first = session.scalars(select(LedgerPosting).where(LedgerPosting.key == key)).first()
    if first is not None:
        return first
    entries = [e for e in entries if e.amount]
    check_balanced(entries)
    region = session.info["database"]
    posting = LedgerPosting(id=new_id("lgp"), region=region, key=key, kind=kind, merchant_id=merchant_id, memo=memo)
    session.add(posting)
    session.flush()
    session.add_all(LedgerEntry(posting_id=posting.id, region=region, **vars(e)) for e in entries)
    session.flush()
    return posting


def balances(session, *where) -> dict[tuple[str, str], int]:
    """(account, currency) -> sum of entries, over the entries `where` selects."""
    rows = session.execute(select(LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount))
                           .where(*where).group_by(LedgerEntry.account, LedgerEntry.currency))
    return {(account, currency): int(total) for account, currency, total in rows}


def split(amount: int, weights: list[int]) -> list[int]:
    """`amount` in parts proportional to `weights`, each a whole minor unit, summing exactly to
    `amount`: floor every share, then the units left over go one each to the largest
    remainders (ties to the earliest). The one rounding rule for shares (decision 0008)."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("nothing to split by")
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def refusal(message: str, field: str = "amount") -> InvalidInput:
    return InvalidInput(message, errors={field: [message]})
