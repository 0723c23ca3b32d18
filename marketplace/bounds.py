"""The largest numbers the marketplace accepts, read once from bounds.toml.

Without bounds, 2^63 as a minimum order passed validation and failed at commit (a 500), and
a quote for 10^100 units was priced. Every number a client sends is held to what its column
stores, what a JavaScript client reads exactly (2^53 - 1), and what the business can mean.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

INTEGER_COLUMN_MAX = 2**31 - 1
JS_SAFE_INTEGER_MAX = 2**53 - 1
BOUNDS_FILE = Path(__file__).with_name("bounds.toml")


@dataclass(frozen=True, slots=True)
class Bounds:
    max_unit_price: int
    max_quantity: int
    max_weight_g: int
    max_dimension_mm: int
    max_offset: int
    max_price_whole_digits: int


def load(path: Path = BOUNDS_FILE) -> Bounds:
    """The bounds of the data file; ValueError when one could overflow a column or a client."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    bounds = Bounds(
        max_unit_price=raw["money"]["max_unit_price"],
        max_quantity=raw["quantity"]["max"],
        max_weight_g=raw["physical"]["max_weight_g"],
        max_dimension_mm=raw["physical"]["max_dimension_mm"],
        max_offset=raw["paging"]["max_offset"],
        max_price_whole_digits=raw["search"]["max_price_whole_digits"],
    )
    in_columns = (bounds.max_unit_price, bounds.max_quantity, bounds.max_weight_g, bounds.max_dimension_mm)
    if max(in_columns) > INTEGER_COLUMN_MAX:
        raise ValueError(f"{path}: a bound exceeds the INTEGER columns ({INTEGER_COLUMN_MAX:,})")
    if bounds.max_unit_price * bounds.max_quantity > JS_SAFE_INTEGER_MAX:
        raise ValueError(f"{path}: a quote's total could exceed a JavaScript-safe integer")
    # four decimals is the most any currency has (see money.minor_units)
    if 10 ** (bounds.max_price_whole_digits + 4) > JS_SAFE_INTEGER_MAX:
        raise ValueError(f"{path}: a price filter could exceed a JavaScript-safe integer")
    return bounds


BOUNDS = load()
