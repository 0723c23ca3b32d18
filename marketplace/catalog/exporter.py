"""Export of a merchant's catalog in the import's formats: what comes out goes back in unchanged.

CSV repeats the product columns on each of its variant rows, and starts with a UTF-8
byte-order mark so that spreadsheets read the accents of es/fr/nl texts right (the import
accepts it). Every product is checked by parsing its rows back with the importer; one that
CSV cannot carry exactly (a "|" inside a list item, "=" in an option name, spaces around a
value, prices kept in a currency whose minor units differ from the merchant's current one)
makes the CSV export fail naming it, and the JSON export, which carries everything, is the
way out.
"""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from marketplace.catalog import importer
from marketplace.catalog.models import Product, Variant
from marketplace.catalog.schemas import ProductSchema
from marketplace.errors import InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.money import Money
from marketplace.regions.router import Router

PRODUCT_FIELDS = ("ref", "category", "title", "description", "image_urls", "visibility", "ships_to_exclusions")
VARIANT_FIELDS = ("sku", "options", "base_price", "tiers", "moq", "case_pack", "hs_code", "origin_country",
                  "weight_g", "length_mm", "width_mm", "height_mm", "stock")


def export_csv(router: Router, principal: Principal) -> bytes:
    """The merchant's catalog as CSV in the import's columns, one row per variant."""
    merchant, products = _catalog(router, principal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(importer.COLUMNS)
    lossy = []
    for product in products:
        rows = [_row(product, variant) for variant in product.variants]
        if not _same(importer.data_from_rows(rows, merchant.default_currency or ""), _data_of(product)):
            lossy.append(product.ref)
        writer.writerows([row[column] for column in importer.COLUMNS] for row in rows)
    if lossy:
        listed = ", ".join(lossy[:10]) + (f" and {len(lossy) - 10} more" if len(lossy) > 10 else "")
        raise InvalidInput(
            f"CSV cannot carry some products exactly ({listed}): a '|' inside a list item, '=' in an option or stock "
            "name, spaces around a value, or prices in another currency. Export them as JSON.",
            errors={"format": [f"product {ref} needs JSON" for ref in lossy]},
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_json(router: Router, principal: Principal) -> bytes:
    """The merchant's catalog as a JSON list of products in the API shape."""
    _, products = _catalog(router, principal)
    return (json.dumps(ProductSchema(many=True).dump(products), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _catalog(router: Router, principal: Principal) -> tuple[Merchant, list[Product]]:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
        if merchant is None:
            raise NotFound(f"No merchant {principal.merchant_id}.")
        products = uow.session.scalars(
            select(Product).where(Product.merchant_id == principal.merchant_id).order_by(Product.ref)
        ).all()
    return merchant, list(products)


def _row(product: Product, variant: Variant) -> dict[str, str]:
    def money(amount: int) -> str:
        return Money(amount, variant.currency).plain()

    texts = {f"{name}_{language}": getattr(product, name).get(language, "")
             for name in ("title", "description") for language in importer.LANGUAGES}
    return {
        "product_ref": product.ref, "category": product.category, **texts, "visibility": product.visibility,
        "image_urls": "|".join(product.image_urls), "ships_to_exclusions": "|".join(product.ships_to_exclusions),
        "sku": variant.sku, "options": "|".join(f"{k}={v}" for k, v in variant.options.items()),
        "price": money(variant.base_price),
        "tiers": "|".join(f"{t['min_quantity']}:{money(t['unit_price'])}" for t in variant.tiers),
        **{name: str(getattr(variant, name)) for name in importer.INTEGER_COLUMNS},
        "hs_code": variant.hs_code, "origin_country": variant.origin_country,
        "stock": "|".join(f"{k}={v}" for k, v in variant.stock.items()),
    }


def _data_of(product: Product) -> dict:
    """The product as `service.write_product` compares it."""
    return {**{name: getattr(product, name) for name in PRODUCT_FIELDS},
            "variants": [{name: getattr(v, name) for name in VARIANT_FIELDS} for v in product.variants]}


def _same(imported: dict | None, stored: dict) -> bool:
    """Equal but for blank texts, which CSV cannot tell from absent ones (re-importing drops them)."""
    def normal(data: dict) -> dict:
        texts = {name: {k: v for k, v in data[name].items() if v.strip()} for name in ("title", "description")}
        return {**data, **texts, "variants": sorted(data["variants"], key=lambda v: v["sku"])}

    return imported is not None and normal(imported) == normal(stored)
