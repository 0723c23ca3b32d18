"""Stock rows and reservations, on the merchant's home shard (next to the variants they count)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow

HELD, COMMITTED, RELEASED, EXPIRED, RESTOCKED = "held", "committed", "released", "expired", "restocked"


class StockLevel(ShardBase):
    """Units of one variant at one stock location. `revision` counts the changes of `on_hand`
    (a merchant's count, a sale): it is what a merchant's If-Match names, so a count made from
    a stale read never silently undoes a sale. Reservations move `reserved` only."""

    __tablename__ = "stock_levels"

    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    location: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # The database's own guard: whatever code runs, a row never promises more than it has.
        CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="reserved_within_on_hand"),
    )

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Reservation(ShardBase):
    """Units held for one checkout leg, all its lines or none. Its id is the caller's key (the
    merchant order it is for), so a retried reserve, commit or release acts once."""

    __tablename__ = "stock_reservations"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=HELD)  # held | committed | released | expired | restocked
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # by the database's clock
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_stock_reservations_held", "status", "expires_at"),)


class ReservationLine(ShardBase):
    """Units of one variant held at one location (a line may be split over locations)."""

    __tablename__ = "stock_reservation_lines"

    reservation_id: Mapped[str] = mapped_column(ForeignKey("stock_reservations.id", ondelete="CASCADE"), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # no foreign key: a deleted variant's line just settles nothing
    location: Mapped[str] = mapped_column(String(40), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
