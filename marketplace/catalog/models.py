"""The catalog, on the merchant's home shard. Public parts of it are announced on the outbox
so that search and caches elsewhere can copy them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.inventory.models import StockLevel
from marketplace.regions.base import ShardBase, UTCDateTime, utcnow

VISIBILITIES = ("public", "b2b", "hidden")


class Product(ShardBase):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    ref: Mapped[str] = mapped_column(String(80))  # the merchant's own key, used by imports
    category: Mapped[str] = mapped_column(String(80))
    title: Mapped[dict[str, str]] = mapped_column(JSON)  # language -> text
    description: Mapped[dict[str, str]] = mapped_column(JSON)
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    ships_to_exclusions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped by every write of the row (SQLAlchemy's version counter: an UPDATE matches only the
    # revision it read, so two writers never both succeed from one read). It is the API's ETag
    # and the search document's version, so an older copy never replaces a newer one.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.sku", lazy="selectin"
    )

    __table_args__ = (UniqueConstraint("merchant_id", "ref"),)
    __mapper_args__ = {"version_id_col": revision}


class Variant(ShardBase):
    __tablename__ = "variants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # e.g. {"size": "1 kg"}
    currency: Mapped[str] = mapped_column(String(3))
    base_price: Mapped[int] = mapped_column(Integer)  # minor units
    tiers: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)  # [{"min_quantity", "unit_price"}]
    moq: Mapped[int] = mapped_column(Integer, default=1)
    case_pack: Mapped[int] = mapped_column(Integer, default=1)
    hs_code: Mapped[str] = mapped_column(String(10))
    origin_country: Mapped[str] = mapped_column(String(2))
    weight_g: Mapped[int] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    # The stock rows of marketplace.inventory, the one source of truth for stock; loaded with
    # the variant so a product reads with its counts, written only by inventory.service.
    stock_levels: Mapped[list[StockLevel]] = relationship(
        lazy="selectin", order_by="StockLevel.location", cascade="all, delete-orphan", passive_deletes=True)

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (UniqueConstraint("merchant_id", "sku"),)

    @property
    def stock(self) -> dict[str, int]:
        """Units on hand by stock location (what a product body's `stock` says)."""
        return {level.location: level.on_hand for level in self.stock_levels}

    @property
    def in_stock(self) -> bool:
        """Whether a buyer could have some now: units on hand that no checkout holds."""
        return any(level.available > 0 for level in self.stock_levels)


class PriceList(ShardBase):
    """Contract terms for named buyer companies, valid between two dates (inclusive)."""

    __tablename__ = "price_lists"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    company_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    percent_off_bp: Mapped[int | None] = mapped_column(Integer)
    contract_prices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # variant id -> minor units


class ImportJob(ShardBase):
    """A bulk import uploaded in the dashboard, run by the outbox relay, watched on a page."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))  # csv | json
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts and the row errors
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
