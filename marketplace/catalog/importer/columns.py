"""The columns of a catalog file: one row per variant, product columns repeated on each."""

from __future__ import annotations

from marketplace.catalog import service

LANGUAGES = service.LANGUAGES
TEXT_COLUMNS = tuple(f"{name}_{language}" for name in ("title", "description") for language in LANGUAGES)
PRODUCT_COLUMNS = ("category", *TEXT_COLUMNS, "visibility", "image_urls", "ships_to_exclusions")
VARIANT_COLUMNS = ("sku", "options", "price", "tiers", "moq", "case_pack", "hs_code", "origin_country",
                   "weight_g", "length_mm", "width_mm", "height_mm", "stock")
COLUMNS = ("product_ref", *PRODUCT_COLUMNS, *VARIANT_COLUMNS)
REQUIRED_COLUMNS = ("product_ref", "category", "sku", "price", "hs_code", "origin_country",
                    "weight_g", "length_mm", "width_mm", "height_mm")
INTEGER_COLUMNS = ("moq", "case_pack", "weight_g", "length_mm", "width_mm", "height_mm")
