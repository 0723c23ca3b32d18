"""Import duty and consumption tax for a parcel entering a destination country.

The figures are data (data/duty_tax.toml, data/tariffs.csv) with their sources and dates. The
arithmetic is trade.md's: integer minor units of the destination's currency, each line rounded
once, half up, every component shown so a buyer can check it. Customs value is CIF (goods +
insurance + freight, the freight and insurance shared over the lines by value); the tax is
charged on the customs value plus the duty, as the member states' customs assess it.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from payments import fx

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Goods:
    """One line as customs sees it; `value` in the destination's currency."""
    hs_code: str
    origin_country: str
    value: int


@dataclass(frozen=True)
class LineAssessment:
    hs_code: str
    origin_country: str
    customs_value: int  # CIF share of this line
    duty_bp: int
    duty: int
    tax_bp: int
    tax: int
    duty_reason: str


@dataclass(frozen=True)
class Assessment:
    destination: str
    currency: str
    lines: tuple[LineAssessment, ...]
    basis: str
    sources: tuple[str, ...]

    @property
    def duty(self) -> int:
        return sum(line.duty for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)


@cache
def table() -> dict:
    return tomllib.loads((DATA / "duty_tax.toml").read_text(encoding="utf-8"))


@cache
def _tariffs() -> dict[tuple[str, str], dict]:
    with (DATA / "tariffs.csv").open(encoding="utf-8", newline="") as handle:
        return {(row["schedule"], row["code"]): row for row in csv.DictReader(handle)}


def half_up(amount: int, basis_points: int) -> int:
    """basis_points/10000 of a non-negative amount, rounded once, half up."""
    return (2 * amount * basis_points + 10_000) // 20_000


def tariff_rate(schedule: str, hs_code: str) -> tuple[int, str]:
    """The rate of the longest code in the schedule that begins the HS code (heading, chapter, `*`)."""
    for code in (hs_code[:4], hs_code[:2], "*"):
        row = _tariffs().get((schedule, code))
        if row is not None:
            return int(row["rate_bp"]), f"{schedule} {code} ({row['description']}) {int(row['rate_bp']) / 100:g}%"
    raise KeyError(f"schedule {schedule} has no default row")


def _shares(total: int, values: list[int]) -> list[int]:
    """`total` split over the lines by value, in whole minor units that add up to it."""
    whole = sum(values)
    if whole == 0:
        return [total] + [0] * (len(values) - 1)
    shares = [total * v // whole for v in values]
    shares[-1] += total - sum(shares)
    return shares


def _under_de_minimis(country: dict, goods_value: int, currency: str) -> set[str]:
    rule = country.get("de_minimis")
    if rule is None or fx.rates().convert(goods_value, currency, rule["currency"]) > rule["amount"]:
        return set()
    return set(rule["covers"])


def assess(*, destination: str, currency: str, lines: list[Goods], freight: int, insurance: int) -> Assessment:
    """Duty and tax on these lines entering `destination`; amounts in `currency`, its currency."""
    data = table()
    country = data["countries"].get(destination)
    if country is None:
        return Assessment(destination, currency, tuple(LineAssessment(g.hs_code, g.origin_country, g.value, 0, 0, 0, 0,
                                                                      "not quoted") for g in lines),
                          f"duties and taxes not quoted for {destination}", ())
    waived = _under_de_minimis(country, sum(g.value for g in lines), currency)
    assessed = []
    for goods, share in zip(lines, _shares(freight + insurance, [g.value for g in lines])):
        customs_value = goods.value + share
        if "duty" in waived:
            duty_bp, reason = 0, "under the de minimis threshold"
        elif goods.origin_country in data["cet_members"] and destination in data["cet_members"]:
            duty_bp, reason = 0, f"CARICOM origin ({goods.origin_country}): duty-free"
        elif country["tariff"] == "CET":
            duty_bp, reason = tariff_rate("CET", goods.hs_code)
        else:
            duty_bp, reason = country["duty_bp"], f"{destination} tariff {country['duty_bp'] / 100:g}%"
        duty = half_up(customs_value, duty_bp)
        tax_bp = 0 if "tax" in waived else country["tax_bp"]
        assessed.append(LineAssessment(goods.hs_code, goods.origin_country, customs_value, duty_bp, duty, tax_bp,
                                       half_up(customs_value + duty, tax_bp), reason))
    basis = (f"{data['collection']}: duty on CIF value, {country['tax']} {country['tax_bp'] / 100:g}% "
             f"on CIF + duty, in {currency}" + ("" if country["verified"] else " (rates not yet verified)"))
    return Assessment(destination, currency, tuple(assessed), basis, (f"{country['source']} ({country['as_of']})",))
