"""Cart lines, checkouts and their legs, buyer order summaries (buyer's region); merchant
orders and their transitions (merchant's region)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow


class CartLine(ShardBase):
    """One variant in a buyer's cart, with the last quote its merchant's region gave (None until
    one did: the checkout's order request re-prices every line where the merchant lives)."""

    __tablename__ = "cart_lines"

    buyer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40))
    merchant_region: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    quote: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # unit_price, total, currency, rule, explanation, sku, weight_g, ships_from
    quoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Checkout(ShardBase):
    """A buyer's checkout: one leg per merchant, settled when every leg is."""

    __tablename__ = "checkouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    buyer_id: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(20))  # requested | paying | confirming | completed | failed
    currency: Mapped[str] = mapped_column(String(3))  # the buyer's
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSON)
    payment_method: Mapped[str] = mapped_column(String(20))
    # The provider that takes this checkout's payment (payments.gateways.PaymentProviders), chosen
    # when it starts: every later call for the payment goes there, whatever the configuration says by then.
    payment_provider: Mapped[str | None] = mapped_column(String(20))
    payment_reference: Mapped[str | None] = mapped_column(String(80))  # the provider's, or the bank transfer's
    payment_status: Mapped[str | None] = mapped_column(String(20))  # the provider's last answer: pending | authorised | declined
    payment_client_secret: Mapped[str | None] = mapped_column(String(300))  # for the buyer's app to confirm (Stripe)
    total_amount: Mapped[int | None] = mapped_column(Integer)  # in `currency`, once every leg answered
    reason: Mapped[str | None] = mapped_column(String(500))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)  # for every merchant's answer
    # For the payment, set when it is asked for (policy.toml); None: its method waits without one.
    payment_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    legs: Mapped[list[CheckoutLeg]] = relationship(order_by="CheckoutLeg.merchant_id", lazy="selectin",
                                                   cascade="all, delete-orphan")

    __table_args__ = (Index("ix_checkouts_state_deadline", "state", "deadline_at"),
                      Index("ix_checkouts_state_payment_deadline", "state", "payment_deadline_at"))


class CheckoutLeg(ShardBase):
    """What one merchant was asked, and answered."""

    __tablename__ = "checkout_legs"

    checkout_id: Mapped[str] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_region: Mapped[str] = mapped_column(String(8))
    # requested | accepted | rejected | timed_out | confirmed | cancelled
    state: Mapped[str] = mapped_column(String(20))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # as asked, then as priced by the merchant's region
    order_id: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str | None] = mapped_column(String(3))
    goods_amount: Mapped[int | None] = mapped_column(Integer)
    shipping_amount: Mapped[int | None] = mapped_column(Integer)
    total_amount: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    problems: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merchant_name: Mapped[str | None] = mapped_column(String(200))  # as the merchant's region answered: for the buyer's mail


class BuyerOrder(ShardBase):
    """The buyer's copy of a merchant order's summary, kept from the saga's events."""

    __tablename__ = "buyer_orders"

    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    buyer_id: Mapped[str] = mapped_column(String(40))
    checkout_id: Mapped[str] = mapped_column(String(40))
    merchant_id: Mapped[str] = mapped_column(String(40))
    merchant_region: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))  # the merchant region's last word (why cancelled, ...)
    return_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the buyer said it arrived (once)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_buyer_orders_buyer", "buyer_id", "order_id"),)


class MerchantOrder(ShardBase):
    """A merchant's order: the lines and where to ship them; of the buyer, nothing else."""

    __tablename__ = "merchant_orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40))
    checkout_id: Mapped[str] = mapped_column(String(40))
    buyer_region: Mapped[str] = mapped_column(String(8))  # where the answers go
    state: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    goods_amount: Mapped[int] = mapped_column(Integer)
    shipping_amount: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # variant_id, sku, quantity, unit_price, total
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSON)
    # how the buyer pays (checkout.PAYMENT_METHODS), set when paid (payments.service.capture):
    # a cash-on-delivery parcel's delivery event books the cash
    payment_method: Mapped[str | None] = mapped_column(String(20))
    # the provider that took the buyer's payment and its reference for it (the checkout's, sent
    # on orders.confirm), set when paid: a refund is paid there without reading the buyer's
    # region (payments.events.pay_refund)
    payment_provider: Mapped[str | None] = mapped_column(String(20))
    payment_reference: Mapped[str | None] = mapped_column(String(80))
    return_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    transitions: Mapped[list[OrderTransition]] = relationship(order_by="OrderTransition.id", lazy="selectin")

    __table_args__ = (
        UniqueConstraint("checkout_id", "merchant_id", name="uq_merchant_orders_checkout_merchant"),
        Index("ix_merchant_orders_merchant", "merchant_id", "id"),
    )


class OrderTransition(ShardBase):
    """Every change of an order's state: from, to, when (the database clock) and who."""

    __tablename__ = "order_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("merchant_orders.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(8))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))  # "checkout", "buyer:<id>", "merchant:<staff or key id>"
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class MerchantOrderSettings(ShardBase):
    """A merchant's order terms; without a row, policy.toml's defaults apply."""

    __tablename__ = "merchant_order_settings"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    return_window_days: Mapped[int] = mapped_column(Integer)
