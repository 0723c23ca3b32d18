"""Products as read: frozen copies of a product's row and its variants' rows.

Integrations poll `GET /api/v1/merchant/products/<id>`, and the dashboard opens a product to
edit it; neither changes the rows it reads (a change is written by catalog.service in a
writing unit of work, which loads the models). So the read is one Core statement, the
product joined with its variants, turned into plain records: no Session, identity map or
instrumented objects, which were most of the endpoint's time (bench/hot_paths.py). The
records carry every column under the models' names (a test keeps them alike), so whatever
reads a product model reads these too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select

from marketplace.catalog.models import Product, Variant


@dataclass(frozen=True)
class VariantRecord:
    id: str
    region: str
    merchant_id: str
    product_id: str
    sku: str
    options: dict[str, str]
    currency: str
    base_price: int
    tiers: list[dict[str, int]]
    moq: int
    case_pack: int
    hs_code: str
    origin_country: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    stock: dict[str, int]

    @property
    def in_stock(self) -> bool:
        return sum(self.stock.values()) > 0


@dataclass(frozen=True)
class ProductRecord:
    id: str
    region: str
    merchant_id: str
    ref: str
    category: str
    title: dict[str, str]
    description: dict[str, str]
    image_urls: list[str]
    visibility: str
    ships_to_exclusions: list[str]
    created_at: datetime
    updated_at: datetime
    revision: int
    variants: list[VariantRecord]  # by SKU, as Product.variants


_PRODUCT_COLUMNS = tuple(Product.__table__.columns)
_VARIANT_COLUMNS = tuple(column.label(f"variant_{column.name}") for column in Variant.__table__.columns)
# The product and its variants in one statement (one round trip); another merchant's product
# is simply not found.
OWN_PRODUCT = (
    select(*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS)
    .outerjoin_from(Product.__table__, Variant.__table__, Variant.__table__.c.product_id == Product.__table__.c.id)
    .where(Product.__table__.c.id == bindparam("product_id"), Product.__table__.c.merchant_id == bindparam("merchant_id"))
    .order_by(Variant.__table__.c.sku)
)
_PRODUCT_NAMES = tuple(column.name for column in _PRODUCT_COLUMNS)
_VARIANT_NAMES = tuple(column.name for column in Variant.__table__.columns)


def product_of(rows: Sequence[Row]) -> ProductRecord | None:
    """The product of OWN_PRODUCT's rows (one per variant), or None when there are none."""
    if not rows:
        return None
    first = rows[0]
    n = len(_PRODUCT_NAMES)
    variants = [VariantRecord(**dict(zip(_VARIANT_NAMES, row[n:], strict=True))) for row in rows if row[n] is not None]
    return ProductRecord(**dict(zip(_PRODUCT_NAMES, first[:n], strict=True)), variants=variants)
