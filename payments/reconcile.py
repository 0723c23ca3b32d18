"""Reconciliation: the ledger's payouts for a period against what the bank executed.

The bank's file is the payout file as executed (the CSV of payouts.py, or any CSV with its
`payout_id, currency, amount_minor` columns). Every difference is listed, none is fixed here:
a payout the ledger posted that the file lacks, a file line no payout posted, a different
amount or currency, and a payout whose ledger posting does not pay out its own amount.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from payments import rails
from payments.models import LedgerEntry, LedgerPosting, Payout


@dataclass(frozen=True)
class Difference:
    payout_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.payout_id}: {self.what}"


def bank_lines(path: Path) -> dict[str, tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as rows:
        return {row["payout_id"]: (row["currency"], int(row["amount_minor"])) for row in csv.DictReader(rows)}


def payouts(router, region: str, *, since: datetime, until: datetime
            ) -> tuple[list[Difference], dict[str, tuple[str, int]]]:
    """The bank-file payouts of `region` in [since, until), and those whose own posting does
    not pay out their amount."""
    with router.unit_of_work(region, read_only=True) as uow:
        made = list(uow.session.scalars(select(Payout).where(Payout.rail == rails.BANK_TRANSFER, Payout.created_at >= since,
                                                             Payout.created_at < until)))
        differences = []
        for payout in made:
            out = uow.session.scalars(select(LedgerEntry).join(LedgerPosting).where(
                LedgerPosting.key == f"payout:{payout.id}", LedgerEntry.account == "funds_held")).first()
            if out is None or (-out.amount, out.currency) != (payout.amount, payout.currency):
                differences.append(Difference(payout.id, "the ledger's posting does not pay out the payout's amount"))
        return differences, {p.id: (p.currency, p.amount) for p in made}


def compare(ledger: dict[str, tuple[str, int]], bank: dict[str, tuple[str, int]]) -> list[Difference]:
    """Every payout on one side and not the other, or with another amount or currency (the
    bank's file is the period's: a line of another period's payout is a difference too)."""
    differences = []
    for payout_id, (currency, amount) in sorted(ledger.items()):
        if payout_id not in bank:
            differences.append(Difference(payout_id, f"in the ledger ({amount} {currency}), not in the bank's file"))
        elif bank[payout_id] != (currency, amount):
            got = bank[payout_id]
            differences.append(Difference(payout_id, f"ledger {amount} {currency}, bank {got[1]} {got[0]}"))
    for payout_id, (currency, amount) in sorted(bank.items()):
        if payout_id not in ledger:
            differences.append(Difference(payout_id, f"in the bank's file ({amount} {currency}), no payout in the ledger"))
    return differences
