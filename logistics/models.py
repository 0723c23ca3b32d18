"""Shipments and their tracking, on the merchant's shard; the receipts of postal webhooks on
the shard of the region that received them; the buyer's copy of a parcel's timeline on the
buyer's shard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow


class S10Counter(ShardBase):
    """The next serial of an S10 range this region issues from (logistics.s10.issue)."""

    __tablename__ = "s10_counters"

    range_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_serial: Mapped[int] = mapped_column(Integer)


class Shipment(ShardBase):
    """One parcel of a merchant order (or of its return), with its own tracking number."""

    __tablename__ = "shipments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(ForeignKey("merchant_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # outbound | return
    tracking_number: Mapped[str] = mapped_column(String(13), unique=True)
    service: Mapped[str] = mapped_column(String(20))
    weight_g: Mapped[int] = mapped_column(Integer)
    # the sides as measured, mm; NULL: not given (rated by weight alone), or made before 0027
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    # what the post charges for it (logistics.rates.postage); NULL for a return and before 0027
    billable_weight_g: Mapped[int | None] = mapped_column(Integer)
    postage_amount: Mapped[int | None] = mapped_column(Integer)  # minor units of postage_currency
    postage_currency: Mapped[str | None] = mapped_column(String(3))
    sender: Mapped[dict[str, Any]] = mapped_column(JSON)
    addressee: Mapped[dict[str, Any]] = mapped_column(JSON)
    # created | handed_over, then from the tracking events: posted | in_transit | held_by_customs |
    # attempt_failed | delivered (tracking_codes.toml)
    state: Mapped[str] = mapped_column(String(20))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # event time of the state's event
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_shipments_merchant", "merchant_id", "id"),)


class TrackingEvent(ShardBase):
    """A postal operator's event for a tracking number held here. Without a shipment it is
    parked: kept for reconciliation, never dropped."""

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(8))
    operator: Mapped[str] = mapped_column(String(8))
    event_id: Mapped[str] = mapped_column(String(80))
    tracking_number: Mapped[str] = mapped_column(String(13), index=True)
    shipment_id: Mapped[str | None] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    office: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    changed_state: Mapped[bool] = mapped_column(default=False)  # False: late, recorded in the timeline only
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("operator", "event_id", name="uq_tracking_events_operator_event"),)


class PostalReceipt(ShardBase):
    """An operator's event as the receiving region acknowledged it: the key that makes a
    redelivered event a duplicate, and where it was sent (None: parked here, no region's range
    holds its number)."""

    __tablename__ = "postal_receipts"

    operator: Mapped[str] = mapped_column(String(8), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    tracking_number: Mapped[str] = mapped_column(String(20))
    routed_to: Mapped[str | None] = mapped_column(String(8))
    event: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kept when parked, for reconciliation
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuyerParcel(ShardBase):
    """The buyer's copy of one parcel's timeline, kept from the merchant region's events."""

    __tablename__ = "buyer_parcels"

    tracking_number: Mapped[str] = mapped_column(String(13), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    buyer_order_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # code, meaning, at, office, detail; by event time
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
