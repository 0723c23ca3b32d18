"""Postal services, their limits and their rate table (data/services.toml, data/rates.csv).

A parcel is quoted by every service it fits; one it fits in none is refused naming, per
service, the limit it breaks, so a merchant knows whether to split it or lighten it.
Prices are US cents in the data; the caller converts.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from marketplace.errors import InvalidInput
from marketplace.regions import regionmap

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Item:
    """What the rate table needs of one order line, or of one packed parcel (quantity 1). A
    parcel whose sides were not given has them 0: it takes no room and is billed by weight."""
    quantity: int
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0


@dataclass(frozen=True)
class Insurance:
    base: int
    per: int
    fee_per: int
    max_insured: int

    def fee(self, value: int) -> int:
        """US cents to insure `value` US cents: a base and a fee per started step."""
        return self.base + -(-value // self.per) * self.fee_per


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    max_weight_g: int
    max_length_mm: int
    max_volume_cm3: int
    max_value: int
    volumetric_divisor: int | None
    insurance: Insurance | None


@dataclass(frozen=True)
class Quote:
    service: str
    billable_weight_g: int
    postage: int  # US cents
    insurance: int  # US cents, 0 when not asked for


class NoServiceFits(InvalidInput):
    def __init__(self, reasons: dict[str, str]):
        super().__init__("This parcel fits no postal service: "
                         + "; ".join(f"{code}: {why}" for code, why in reasons.items()) + ".",
                         errors={"parcel": [f"{code}: {why}" for code, why in reasons.items()]})
        self.reasons = reasons


@cache
def services() -> dict[str, Service]:
    raw = tomllib.loads((DATA / "services.toml").read_text(encoding="utf-8"))["services"]
    return {code: Service(code, spec["name"], spec["max_weight_g"], spec["max_length_mm"], spec["max_volume_cm3"],
                          spec["max_value"], spec.get("volumetric_divisor"),
                          Insurance(**spec["insurance"]) if "insurance" in spec else None)
            for code, spec in raw.items()}


@cache
def _bands() -> dict[tuple[str, str, str], list[tuple[int, int]]]:
    """(service, origin, destination) -> [(max_weight_g, price)] upward."""
    bands: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    with (DATA / "rates.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["service"], row["origin"], row["destination"])
            bands.setdefault(key, []).append((int(row["max_weight_g"]), int(row["price_usd_cents"])))
    return {key: sorted(rows) for key, rows in bands.items()}


@cache
def region_map():
    """The default region map: which region an origin country belongs to, a destination's currency."""
    return regionmap.load()


def _table(service: str, origin: str, destination: str) -> list[tuple[int, int]] | None:
    """The most specific rows: origin country, region, `*`; then destination country, domestic, `*`."""
    member = region_map().member(origin)
    origins = [origin] + ([member.region] if member else []) + ["*"]
    destinations = [destination] + (["domestic"] if origin == destination else []) + ["*"]
    for o in origins:
        for d in destinations:
            if (service, o, d) in _bands():
                return _bands()[(service, o, d)]
    return None


def billable_weight_g(service: Service, items: list[Item]) -> int:
    actual = sum(i.weight_g * i.quantity for i in items)
    if service.volumetric_divisor is None:
        return actual
    volume_mm3 = sum(i.length_mm * i.width_mm * i.height_mm * i.quantity for i in items)
    return max(actual, -(-volume_mm3 // service.volumetric_divisor))  # cm³/divisor kg = mm³/divisor g


def _misfit(service: Service, items: list[Item]) -> tuple[str, str] | None:
    """The first size or weight limit of `service` the items break: (the field that breaks it,
    why), the field named as the shipment API names it."""
    weight = sum(i.weight_g * i.quantity for i in items)
    longest = max(max(i.length_mm, i.width_mm, i.height_mm) for i in items)
    volume_cm3 = sum(i.length_mm * i.width_mm * i.height_mm * i.quantity for i in items) // 1000
    if weight > service.max_weight_g:
        return "weight_g", f"weighs {weight} g, the limit is {service.max_weight_g} g"
    if longest > service.max_length_mm:
        side = next(name for name in ("length_mm", "width_mm", "height_mm")
                    if any(getattr(i, name) == longest for i in items))
        return side, f"an item is {longest} mm long, the limit is {service.max_length_mm} mm"
    if volume_cm3 > service.max_volume_cm3:
        return "parcel", f"takes {volume_cm3} cm³, the limit is {service.max_volume_cm3} cm³"
    if billable_weight_g(service, items) > service.max_weight_g:
        return "parcel", (f"volumetric weight {billable_weight_g(service, items)} g is over the limit of "
                          f"{service.max_weight_g} g")
    return None


def _refusal(service: Service, items: list[Item], value: int, insure: bool) -> str | None:
    misfit = _misfit(service, items)
    if misfit is not None:
        return misfit[1]
    if value > service.max_value:
        return f"declared value US${value / 100:.2f} is over the limit of US${service.max_value / 100:.2f}"
    if insure and service.insurance is None:
        return "cannot be insured"
    if insure and value > service.insurance.max_insured:
        return f"insurance is limited to US${service.insurance.max_insured / 100:.2f}"
    return None


def _price(table: list[tuple[int, int]], weight: int) -> int | None:
    """The band's price for `weight`; None above the table's last band."""
    return next((price for bound, price in table if weight <= bound), None)


def quotes(*, origin: str, destination: str, items: list[Item], value_usd: int, insure: bool = False) -> list[Quote]:
    """Every service this parcel fits, cheapest first; NoServiceFits says why for each one."""
    found, reasons = [], {}
    for service in services().values():
        why = _refusal(service, items, value_usd, insure)
        table = _table(service.code, origin, destination)
        if why is None and table is None:
            why = f"not offered from {origin} to {destination}"
        if why is not None:
            reasons[service.code] = why
            continue
        weight = billable_weight_g(service, items)
        postage = _price(table, weight)
        if postage is None:
            reasons[service.code] = f"no rate from {origin} to {destination} above {table[-1][0]} g"
            continue
        found.append(Quote(service.code, weight, postage, service.insurance.fee(value_usd) if insure else 0))
    if not found:
        raise NoServiceFits(reasons)
    return sorted(found, key=lambda q: (q.postage + q.insurance, q.service))


def postage(*, service: str, origin: str, destination: str, parcel: Item) -> Quote:
    """What the post charges to carry one packed parcel by the service the merchant chose:
    the band of its billable weight (its volumetric weight where the service bills by volume).
    A parcel the service does not take is refused as a quote refuses it, the reason named on
    the field that breaks the limit. Its declared value is the customs form's business: a
    parcel's share of its order's goods is not recorded."""
    chosen = services()[service]
    misfit = _misfit(chosen, [parcel])
    table = _table(service, origin, destination)
    if misfit is None and table is None:
        misfit = "service", f"not offered from {origin} to {destination}"
    weight = billable_weight_g(chosen, [parcel])
    price = _price(table, weight) if misfit is None else None
    if misfit is None and price is None:
        misfit = "parcel", f"no rate from {origin} to {destination} above {table[-1][0]} g"
    if misfit is not None:
        field, why = misfit
        bound = chosen.max_weight_g if field == "weight_g" else chosen.max_length_mm if field.endswith("_mm") else None
        raise InvalidInput(f"This parcel does not fit the {chosen.name}: {why}.",
                           errors={field: [f"at most {bound} for {service}" if bound else f"{why} ({service})"]})
    return Quote(service, weight, price, 0)
