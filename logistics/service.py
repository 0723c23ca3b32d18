"""Landed cost of a merchant's parcel: goods, shipping, duties and taxes, in the goods' currency.

The interface the checkout and cart call (`landed_cost`); the postal union's real rates and
customs will fill it. Its documented default: a flat shipping rate from flat_rates.toml by
domestic / international and weight, and no duties or taxes (quoted as zero, said so in `basis`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from payments import fx

RATES_FILE = Path(__file__).with_name("flat_rates.toml")


@dataclass(frozen=True)
class Parcel:
    origin_country: str
    destination_country: str
    weight_g: int
    goods: int  # minor units of `currency`
    currency: str


@dataclass(frozen=True)
class LandedCost:
    goods: int
    shipping: int
    duties: int
    taxes: int
    currency: str
    basis: str

    @property
    def total(self) -> int:
        return self.goods + self.shipping + self.duties + self.taxes


@cache
def _rates() -> dict:
    return tomllib.loads(RATES_FILE.read_text(encoding="utf-8"))


def landed_cost(parcel: Parcel) -> LandedCost:
    """What the parcel costs delivered: flat shipping, no duties or taxes (the default)."""
    rates = _rates()
    domestic = parcel.origin_country == parcel.destination_country
    usd = rates["domestic" if domestic else "international"]
    extra_kg = max(0, -(-(parcel.weight_g - 2000) // 1000))
    usd += extra_kg * rates["per_kg_over_2"]
    shipping = fx.rates().convert(usd, rates["currency"], parcel.currency)
    return LandedCost(goods=parcel.goods, shipping=shipping, duties=0, taxes=0, currency=parcel.currency,
                      basis="flat rate; duties and taxes not quoted")
