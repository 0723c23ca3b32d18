"""What a buyer is told about a variant's stock: in stock, low, or out.

`units_available` is the one read of a variant's stock for buyers: the units on hand in its
stock rows (marketplace.inventory) that no checkout holds. The threshold for "low" is data
(marketplace/catalog/public.toml).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

IN_STOCK, LOW, OUT = "in_stock", "low", "out_of_stock"
STATES = (IN_STOCK, LOW, OUT)
SETTINGS_FILE = Path(__file__).with_name("public.toml")


@cache
def public_settings() -> dict:
    return tomllib.loads(SETTINGS_FILE.read_text(encoding="utf-8"))


def units_available(variant) -> int:
    """Units of the variant that buyers may order now, over all its locations: on hand and not
    held by a checkout."""
    return sum(level.available for level in variant.stock_levels)


def stock_state(variant) -> str:
    units = units_available(variant)
    if units <= 0:
        return OUT
    return LOW if units <= public_settings()["stock"]["low_at_most"] else IN_STOCK
