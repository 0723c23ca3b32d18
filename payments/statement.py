"""A merchant's balance statement, derived from the ledger only (never a stored balance):
per currency what is held in escrow, available for the next payout, and paid out so far; what
the next payout run pays by which rail (payments.payouts.due, the run's own answer: a merchant
may be paid by Connect for its Stripe orders and by bank for the rest); and the latest lines.
Only the principal's own merchant is ever read, in its own region."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from marketplace.merchants.models import Merchant
from marketplace.merchants.principal import Principal
from marketplace.regions.router import Router
from payments.ledger import balances
from payments.models import LedgerEntry, LedgerPosting
from payments.payouts import due, rails_of

LINES = 50


@dataclass
class Statement:
    merchant_id: str
    rail: str  # of the money buyers paid through Stripe; the rest always goes by bank transfer
    why: str | None = None  # why that money is not paid by Stripe Connect
    balances: list[dict] = field(default_factory=list)
    next_payouts: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)


def for_merchant(*, router: Router, principal: Principal, provider_name: str) -> Statement:
    principal.require_owner("see the balance statement")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        session = uow.session
        mine = LedgerEntry.merchant_id == principal.merchant_id
        totals = balances(session, mine, LedgerEntry.account.in_(("merchant_held", "merchant_available")))
        # paid out: what payouts took from the available balance, less what failed ones gave back
        paid = {currency: int(total) for currency, total in session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount)).join(LedgerPosting)
            .where(mine, LedgerEntry.account == "merchant_available",
                   LedgerPosting.kind.in_(("payout", "payout_failed")))
            .group_by(LedgerEntry.currency)) if total}
        currencies = sorted({currency for _, currency in totals} | set(paid))
        merchant = session.get(Merchant, principal.merchant_id)
        rails = rails_of(session, merchant, provider_name)
        statement = Statement(principal.merchant_id, rails.stripe_money, rails.why)
        statement.balances = [{"currency": c, "held": -totals.get(("merchant_held", c), 0),
                               "available": -totals.get(("merchant_available", c), 0), "paid_out": paid.get(c, 0)}
                              for c in currencies]
        statement.next_payouts = [
            {"currency": c, "rail": rail, "amount": -sum(total for _, total in per_order)}
            for c in currencies
            for rail, per_order in due(session, merchant_id=principal.merchant_id, currency=c, money_rails=rails).items()]
        rows = session.execute(select(LedgerEntry, LedgerPosting.kind, LedgerPosting.created_at).join(LedgerPosting)
                               .where(mine, LedgerEntry.account.in_(("merchant_held", "merchant_available")))
                               .order_by(LedgerEntry.id.desc()).limit(LINES))
        statement.lines = [{"at": at, "kind": kind, "account": entry.account, "order_id": entry.order_id,
                            "amount": -entry.amount, "currency": entry.currency} for entry, kind, at in rows]
        return statement
