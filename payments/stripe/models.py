"""What we keep of Stripe, each on the shard of the region that owns it.

- StripePayment: the PaymentIntent of a checkout, in the buyer's region: how the provider finds
  the intent from our checkout id, and the status the webhook moves forward only (`rank`).
- StripeEvent: each webhook event id once, in the region that received it (a replay is a no-op).
- StripeDispute: a dispute on a checkout's charge, in the buyer's region.
- StripeAccount: a merchant's connected account, in the merchant's region, with the state
  Stripe last told us of it (payments/stripe/accounts.py: Connect pays it only while Stripe
  says its payouts are enabled).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow


class StripePayment(ShardBase):
    __tablename__ = "stripe_payments"

    checkout_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    intent_id: Mapped[str] = mapped_column(String(80), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(40))  # Stripe's PaymentIntent status
    rank: Mapped[int] = mapped_column(Integer)  # how far along it is (intent_states.toml); never lowered
    event_created: Mapped[int] = mapped_column(Integer, default=0)  # the Stripe time of the event that set it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StripeEvent(ShardBase):
    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # Stripe's evt_ id
    region: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeDispute(ShardBase):
    __tablename__ = "stripe_disputes"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # Stripe's dp_ id
    region: Mapped[str] = mapped_column(String(8))
    checkout_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeAccount(ShardBase):
    __tablename__ = "stripe_accounts"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[str] = mapped_column(String(80), unique=True)  # acct_
    country: Mapped[str] = mapped_column(String(2))  # the connected account's country (Stripe's)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    charges_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    requirements_due: Mapped[list[str] | None] = mapped_column(JSON)  # Stripe's currently_due and past_due
    disabled_reason: Mapped[str | None] = mapped_column(String(80))  # Stripe's requirements.disabled_reason
    state_at: Mapped[int] = mapped_column(Integer, default=0)  # the Stripe time of the news that set the state
