"""Landed cost of a merchant's parcel: goods, shipping, insurance, duties and taxes, in the goods' currency.

The one interface the cart and the checkout call (`landed_cost`). Shipping is the cheapest postal
service the parcel fits (rates.py; NoServiceFits says why none does); duties and taxes are
assessed in the destination's currency from the data tables (duties.py) and converted back at the
reference rates, the assessment kept alongside so each line's figures can be shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from logistics import duties, rates
from payments import fx

NoServiceFits = rates.NoServiceFits


@dataclass(frozen=True)
class ParcelLine:
    quantity: int
    value: int  # the line's total, minor units of the parcel's currency
    weight_g: int  # one unit
    length_mm: int
    width_mm: int
    height_mm: int
    hs_code: str
    origin_country: str


@dataclass(frozen=True)
class Parcel:
    origin_country: str
    destination_country: str
    currency: str
    lines: tuple[ParcelLine, ...]
    insure: bool = False

    @property
    def goods(self) -> int:
        return sum(line.value for line in self.lines)

    @property
    def weight_g(self) -> int:
        return sum(line.weight_g * line.quantity for line in self.lines)


@dataclass(frozen=True)
class LandedCost:
    goods: int
    shipping: int
    duties: int
    taxes: int
    currency: str
    basis: str
    insurance: int = 0
    service: str | None = None
    customs: dict = field(default_factory=dict)  # the assessment in the destination's currency, line by line

    @property
    def total(self) -> int:
        return self.goods + self.shipping + self.insurance + self.duties + self.taxes


def landed_cost(parcel: Parcel) -> LandedCost:
    """What the parcel costs delivered by its cheapest service, each part shown."""
    convert = fx.rates().convert
    items = [rates.Item(line.quantity, line.weight_g, line.length_mm, line.width_mm, line.height_mm) for line in parcel.lines]
    quote = rates.quotes(origin=parcel.origin_country, destination=parcel.destination_country, items=items,
                         value_usd=convert(parcel.goods, parcel.currency, "USD"), insure=parcel.insure)[0]
    member = rates.region_map().member(parcel.destination_country)
    local = member.currency if member else parcel.currency
    assessment = duties.assess(
        destination=parcel.destination_country, currency=local,
        lines=[duties.Goods(line.hs_code, line.origin_country, convert(line.value, parcel.currency, local))
               for line in parcel.lines],
        freight=convert(quote.postage, "USD", local), insurance=convert(quote.insurance, "USD", local))
    service = rates.services()[quote.service]
    return LandedCost(
        goods=parcel.goods, shipping=convert(quote.postage, "USD", parcel.currency),
        insurance=convert(quote.insurance, "USD", parcel.currency),
        duties=convert(assessment.duty, local, parcel.currency), taxes=convert(assessment.tax, local, parcel.currency),
        currency=parcel.currency, service=quote.service,
        basis=f"{service.name}, {quote.billable_weight_g} g billed; {assessment.basis}",
        customs={"currency": local, "duty": assessment.duty, "tax": assessment.tax, "sources": list(assessment.sources),
                 "lines": [asdict(line) for line in assessment.lines]})
