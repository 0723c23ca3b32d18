"""Exchange rates and the one conversion: integer minor units of ISO 4217 (Babel's table of
minor units), converted once and rounded once, half up, to the target's minor unit.

Two sources, one `Rates`: the reference rates of a data file (fx_rates.toml, for showing and
filtering prices), and in a region, the latest rates of feeds loaded with `cpu fx load FILE`
(CSV or JSON rows of source, time, base, quote, rate) on top of them (`rates_in`). Whoever
converts money that moves keeps the rate and its source with the amount (payments/service.py).
"""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import select

from marketplace.money import is_currency, minor_units
from payments.models import FxRate

RATES_FILE = Path(__file__).with_name("fx_rates.toml")


class UnknownCurrency(KeyError):
    """No reference rate for this currency."""


@dataclass(frozen=True)
class Rates:
    effective: date
    per_usd: dict[str, Decimal]
    source: str = "reference rates"

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

    def knows(self, currency: str) -> bool:
        return currency in self.per_usd


@cache
def rates() -> Rates:
    raw = tomllib.loads(RATES_FILE.read_text(encoding="utf-8"))
    return Rates(raw["effective"], {code: Decimal(value) for code, value in raw["per_usd"].items()},
                 source=f"reference rates {raw['effective'].isoformat()}")


FEED_COLUMNS = ("source", "time", "base", "quote", "rate")


def feed(path: Path) -> list[dict]:
    """The rows of a rates feed (.csv or .json); a row that is not a rate is an error naming it."""
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
    else:
        with path.open(encoding="utf-8", newline="") as lines:
            rows = list(csv.DictReader(lines))
    checked = []
    for n, row in enumerate(rows, start=1):
        try:
            at = datetime.fromisoformat(str(row["time"]))
            rate = Decimal(str(row["rate"]))
            base, quote = str(row["base"]).upper(), str(row["quote"]).upper()
            if at.tzinfo is None or not rate.is_finite() or rate <= 0 or not (is_currency(base) and is_currency(quote)):
                raise ValueError("needs a time with its UTC offset, a positive rate and two ISO 4217 codes")
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"{path.name} row {n}: {exc}") from exc
        checked.append({"source": str(row["source"])[:40], "at": at.astimezone(timezone.utc), "base": base,
                        "quote": quote, "rate": str(rate)})
    return checked


def load(session, rows: list[dict]) -> int:
    """Store a feed's rows in this region; a row already stored is skipped. How many were new."""
    new = 0
    for row in rows:
        known = session.scalars(select(FxRate).where(*(getattr(FxRate, k) == row[k] for k in ("source", "at", "base", "quote"))))
        if known.first() is None:
            session.add(FxRate(region=session.info["database"], **row))
            new += 1
    session.flush()
    return new


def rates_in(session) -> Rates:
    """The reference rates, each currency overridden by the latest loaded rate against the US
    dollar (either way round); the source names the feeds and the latest time used."""
    reference = rates()
    per_usd, used = dict(reference.per_usd), []
    latest = session.scalars(select(FxRate).where((FxRate.base == "USD") | (FxRate.quote == "USD")).order_by(FxRate.at))
    for row in latest:  # oldest first: the latest of each currency wins
        if row.base == "USD":
            per_usd[row.quote] = Decimal(row.rate)
        else:
            per_usd[row.base] = 1 / Decimal(row.rate)
        used.append(row)
    if not used:
        return reference
    newest = used[-1]
    return Rates(newest.at.date(), per_usd, source=f"{newest.source} {newest.at.isoformat()} over {reference.source}"[:80])
