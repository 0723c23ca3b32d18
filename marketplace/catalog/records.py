"""Products as read: frozen copies of a product's row and its variants' rows.

Integrations poll `GET /api/v1/merchant/products/<id>`, and the dashboard opens a product to
edit it; neither changes the rows it reads (a change is written by catalog.service in a
writing unit of work, which loads the models). So the read is one Core statement, the
product joined with its variants and their stock rows, turned into plain records: no Session, identity map or
instrumented objects, which were most of the endpoint's time (bench/hot_paths.py). The
records carry every column under the models' names (a test keeps them alike), so whatever
reads a product model reads these too.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select

from marketplace.catalog.models import Product, Variant
from marketplace.inventory.models import StockLevel
from marketplace.regions.uow import fixed


@dataclass(frozen=True)
class StockLevelRecord:
    location: str
    on_hand: int
    reserved: int
    revision: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


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
    stock_levels: list[StockLevelRecord]  # by location, as Variant.stock_levels

    @property
    def stock(self) -> dict[str, int]:
        return {level.location: level.on_hand for level in self.stock_levels}

    @property
    def in_stock(self) -> bool:
        return any(level.available > 0 for level in self.stock_levels)


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
_LEVELS = StockLevel.__table__
_LEVEL_NAMES = tuple(field.name for field in dataclasses.fields(StockLevelRecord))
_LEVEL_COLUMNS = tuple(_LEVELS.c[name].label(f"stock_{name}") for name in _LEVEL_NAMES)
# The product, its variants and their stock rows in one statement (one round trip); another
# merchant's product is simply not found.
OWN_PRODUCT = fixed(
    select(*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS, *_LEVEL_COLUMNS)
    .outerjoin_from(Product.__table__, Variant.__table__, Variant.__table__.c.product_id == Product.__table__.c.id)
    .outerjoin(_LEVELS, _LEVELS.c.variant_id == Variant.__table__.c.id)
    .where(Product.__table__.c.id == bindparam("product_id"), Product.__table__.c.merchant_id == bindparam("merchant_id"))
    .order_by(Variant.__table__.c.sku, _LEVELS.c.location)
)
_PRODUCT_NAMES = tuple(column.name for column in _PRODUCT_COLUMNS)
_VARIANT_NAMES = tuple(column.name for column in Variant.__table__.columns)


def product_of(rows: Sequence[Row]) -> ProductRecord | None:
    """The product of OWN_PRODUCT's rows (one per variant and stock location), or None when there are none."""
    if not rows:
        return None
    first = rows[0]
    p, v = len(_PRODUCT_NAMES), len(_PRODUCT_NAMES) + len(_VARIANT_NAMES)
    variants: dict[str, tuple[Row, list[StockLevelRecord]]] = {}
    for row in rows:
        if row[p] is None:  # a product without variants
            continue
        _, levels = variants.setdefault(row[p], (row, []))
        if row[v] is not None:
            levels.append(StockLevelRecord(**dict(zip(_LEVEL_NAMES, row[v:], strict=True))))
    return ProductRecord(**dict(zip(_PRODUCT_NAMES, first[:p], strict=True)), variants=[
        VariantRecord(**dict(zip(_VARIANT_NAMES, row[p:v], strict=True)), stock_levels=levels)
        for row, levels in variants.values()])
