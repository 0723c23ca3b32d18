"""The ledger (postings of balanced entries), refunds and payouts: in the region whose
merchant's money they are (the merchant order's region). Nothing here is ever updated but a
refund's or payout's state: a correction is a new posting (docs/decisions/0008)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow


class LedgerPosting(ShardBase):
    """One money event (a capture, a release, a refund, a payout...): entries that balance per currency."""

    __tablename__ = "ledger_postings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(120), unique=True)  # what happened, once: "capture:<order id>"
    kind: Mapped[str] = mapped_column(String(20))
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    memo: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(order_by="LedgerEntry.id", lazy="selectin")


class LedgerEntry(ShardBase):
    """One side of a posting: debit positive, credit negative, in minor units of `currency`.
    A converted amount keeps what it was converted from and the rate used."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    posting_id: Mapped[str] = mapped_column(ForeignKey("ledger_postings.id"), index=True)
    region: Mapped[str] = mapped_column(String(8))
    account: Mapped[str] = mapped_column(String(30))  # payments/accounts.toml
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    original_amount: Mapped[int | None] = mapped_column(BigInteger)
    original_currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate: Mapped[str | None] = mapped_column(String(40))  # units of `currency` per unit of original_currency
    fx_source: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (Index("ix_ledger_entries_merchant_account", "merchant_id", "account", "currency"),
                      Index("ix_ledger_entries_order", "order_id"))


class Refund(ShardBase):
    """A refund of (part of) a merchant order: posted at once, paid by the provider after."""

    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40), index=True)
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    checkout_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)  # in the order's currency
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))  # requested | refunded
    provider_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(ShardBase):
    """What a payout run paid one merchant in one currency by one rail (a merchant may get one per rail)."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    rail: Mapped[str] = mapped_column(String(20))  # payments/payout_rails.toml
    state: Mapped[str] = mapped_column(String(20))  # sending | sent | failed (payments.payouts)
    provider_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FxRate(ShardBase):
    """One rate of a feed (`cpu fx load`): units of `quote` per unit of `base` at `at`, kept as
    the feed wrote it (a decimal string: exact)."""

    __tablename__ = "fx_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("source", "at", "base", "quote", name="uq_fx_rates_source_at_base_quote"),)


class BankCredit(ShardBase):
    """One credit of the marketplace's bank account, recorded once (payments.bank): what it paid,
    or why it paid nothing. `held` is the part owed back to the payer (all of it when unapplied,
    the excess over what was owed when applied), in the ledger's unapplied_credits until
    `cpu payments returns` gives it back (`returned_at`)."""

    __tablename__ = "bank_credits"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200), unique=True)  # payments.bank.Credit.key
    bank_id: Mapped[str | None] = mapped_column(String(80))
    booked_on: Mapped[str] = mapped_column(String(10))  # the statement's date, as it wrote it (YYYY-MM-DD)
    reference: Mapped[str] = mapped_column(String(120), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(20))  # applied | unapplied
    applied_to: Mapped[str | None] = mapped_column(String(40), index=True)  # the checkout or merchant order paid
    reason: Mapped[str | None] = mapped_column(String(300))
    held: Mapped[int] = mapped_column(BigInteger)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomsRemittance(ShardBase):
    """What one customs remittance run pays one destination's customs in one currency: the
    duties and taxes of the delivered orders it names (payments.customs_remittance)."""

    __tablename__ = "customs_remittances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    country: Mapped[str] = mapped_column(String(2))  # the parcels' destination
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))  # posted | filed (payments.customs_remittance)
    filed_in: Mapped[str | None] = mapped_column(String(300))  # the remittance file its lines went to
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    orders: Mapped[list[CustomsRemittedOrder]] = relationship(order_by="CustomsRemittedOrder.order_id", lazy="selectin")


class CustomsRemittedOrder(ShardBase):
    """One order's duties and taxes in a remittance: an order is remitted once (its key)."""

    __tablename__ = "customs_remitted_orders"

    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    remittance_id: Mapped[str] = mapped_column(ForeignKey("customs_remittances.id"), index=True)
    region: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)  # duty + tax, what the order's customs_collected held
    # the amount apportioned by the duty and tax the data tables assess for the order's lines;
    # NULL when the catalog no longer knows a line's HS code or the destination is not quoted
    duty: Mapped[int | None] = mapped_column(BigInteger)
    tax: Mapped[int | None] = mapped_column(BigInteger)
