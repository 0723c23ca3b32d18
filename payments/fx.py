"""Reference exchange rates from a data file, for showing and filtering prices in a buyer's
currency. Conversion works in integer minor units and rounds once, half up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from marketplace.money import minor_units

RATES_FILE = Path(__file__).with_name("fx_rates.toml")


class UnknownCurrency(KeyError):
    """No reference rate for this currency."""


@dataclass(frozen=True)
class Rates:
    effective: date
    per_usd: dict[str, Decimal]

    def convert(self, amount: int, source: str, target: str) -> int:
        """`amount` minor units of `source` in minor units of `target`."""
        if source == target:
            return amount
        for code in (source, target):
            if code not in self.per_usd:
                raise UnknownCurrency(code)
        major = Decimal(amount).scaleb(-minor_units(source))
        converted = major / self.per_usd[source] * self.per_usd[target]
        return int(converted.scaleb(minor_units(target)).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def rate(self, source: str, target: str) -> Decimal:
        """Units of `target` per unit of `source`: the rate `convert` uses, stored with a converted amount."""
        for code in (source, target):
            if code not in self.per_usd:
                raise UnknownCurrency(code)
        return self.per_usd[target] / self.per_usd[source]

    @property
    def source(self) -> str:
        return f"reference rates {self.effective.isoformat()}"

    def knows(self, currency: str) -> bool:
        return currency in self.per_usd


@cache
def rates() -> Rates:
    raw = tomllib.loads(RATES_FILE.read_text(encoding="utf-8"))
    return Rates(raw["effective"], {code: Decimal(value) for code, value in raw["per_usd"].items()})
