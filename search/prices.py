"""Price buckets a buyer can tap: round bounds in the buyer's currency, chosen from the prices
of what the search found, each with how many products it holds.

Round in the buyer's currency, not in US dollars: a Jamaican buyer reads "J$1,000–J$2,500",
not the JMD value of a dollar bucket ("J$1,585.00–J$3,962.50"). The bounds are taken from a
ladder of round amounts, 1, 2.5 and 5 times every power of ten in major units (0, 1, 2.50,
5, 10, 25, 50, 100 ...), and the buckets shown are a few of its rungs chosen so that each
holds a similar share of the results (quantiles, at most MAX_BUCKETS), from 0 to the rung
above the dearest product.

Who counts what. Engines count on `price_usd` (one field for every merchant's currency), so
the ladder of the buyer's currency goes to the engine converted to US cents
(`Ladder.usd`), and the engine counts products per rung in the same aggregation pass as the
other facets (a range aggregation in both engines); this module then merges rungs into the
buckets shown. One pass and exact counts: choosing the bounds from the engine's price stats
(min and max) first would take a second aggregation pass per search, and bounds fixed in US
cents cannot be round in 26 currencies. A bucket the buyer selects comes back as
"<from>-<to>" in minor units of their currency and is converted by the same function as the
ladder, so the products it filters are exactly those it counted.

A product's rung is decided on its US-cent price; the price a hit shows is converted from the
merchant's currency directly, so a price within a cent of a bound may show on one side of it
and be counted on the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from marketplace.money import Money, minor_units
from payments import fx

STEPS = (Decimal(1), Decimal("2.5"), Decimal(5))  # times each power of ten, in major units
DECADES = 8  # up to 10**8 major units; dearer products share the open top rung
MAX_BUCKETS = 5
SELECTION = re.compile(r"^(\d{1,18})-(\d{1,18})?$")


@dataclass(frozen=True)
class Ladder:
    """The rungs of a currency: `bounds` in its minor units, `usd` the same in US cents (what
    engines count on), both ascending from 0; rung n is [bounds[n], bounds[n + 1]), the last
    one open."""
    currency: str
    bounds: tuple[int, ...]
    usd: tuple[int, ...]

    def upper(self, rung: int) -> int | None:
        return self.bounds[rung + 1] if rung + 1 < len(self.bounds) else None


@dataclass(frozen=True)
class Bucket:
    low: int  # minor units of the ladder's currency, included
    high: int | None  # excluded; None: no upper bound
    count: int

    @property
    def value(self) -> str:
        """What the buyer sends back as `price_bucket` to select it."""
        return f"{self.low}-{'' if self.high is None else self.high}"


def round_bounds(decimals: int) -> tuple[int, ...]:
    """0 and the round amounts of a currency with `decimals` minor digits, in minor units."""
    amounts = [step * 10**decade for decade in range(DECADES) for step in STEPS] + [Decimal(10) ** DECADES]
    minor = [amount.scaleb(decimals) for amount in amounts]
    return (0, *(int(m) for m in minor if m == m.to_integral_value()))


@cache
def ladder(currency: str) -> Ladder:
    """The currency's rungs; a rung worth the same whole US cents as the one below it (a
    currency of very small units) is left out."""
    rates = fx.rates()
    bounds, usd = [], []
    for bound in round_bounds(minor_units(currency)):
        cents = rates.convert(bound, currency, "USD")
        if not usd or cents > usd[-1]:
            bounds.append(bound)
            usd.append(cents)
    return Ladder(currency, tuple(bounds), tuple(usd))


def buckets(counts: dict[int, int], rungs: Ladder) -> list[Bucket]:
    """At most MAX_BUCKETS buckets over the rungs that hold products (`counts`: products per
    rung), none empty, each as near a MAX_BUCKETS-th of them as whole rungs allow; the first
    from 0, the last up to the rung above the dearest product."""
    held = sorted(rung for rung, count in counts.items() if count > 0)
    if not held:
        return []
    first, last = held[0], held[-1]
    total = sum(counts.get(rung, 0) for rung in range(first, last + 1))
    starts, running, inside = [0], 0, 0
    for rung in range(first, last):
        running += counts.get(rung, 0)
        inside += counts.get(rung, 0)
        if inside and running * MAX_BUCKETS >= total * len(starts):
            starts.append(rung + 1)
            inside = 0
    ends = [*starts[1:], last + 1]
    return [Bucket(rungs.bounds[start], rungs.upper(end - 1), sum(counts.get(r, 0) for r in range(start, end)))
            for start, end in zip(starts, ends, strict=True)]


def selection_usd(value: str, currency: str) -> tuple[int, int | None]:
    """A selected bucket ("<from>-<to>", minor units of `currency`, <to> excluded and optional)
    as [from, to) in US cents, converted as the ladder is. ValueError when it is not one."""
    found = SELECTION.match(value)
    if not found:
        raise ValueError("a price bucket is <from>-<to> in minor units, e.g. 1000-2500, or 25000-")
    low, high = int(found[1]), None if found[2] is None else int(found[2])
    if high is not None and high <= low:
        raise ValueError("a price bucket's upper bound must be above its lower bound")
    rates = fx.rates()
    return rates.convert(low, currency, "USD"), None if high is None else rates.convert(high, currency, "USD")


def label(bucket: Bucket, currency: str, language: str) -> str:
    """'€10.00–€25.00' in English, '10,00 €–25,00 €' in French; '€250.00+' for the top one."""
    low = Money(bucket.low, currency).format(language)
    return f"{low}+" if bucket.high is None else f"{low}–{Money(bucket.high, currency).format(language)}"
