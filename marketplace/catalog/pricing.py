"""The one pricing function: what a buyer pays for N units of a variant today, and why.

Every caller (storefront, APIs, cart, search) asks `price_for`; nothing else computes a
price. It works on plain values so it can be tested without a database.

Rules, from the merchant's terms:
- everyone may buy at the base price, or at the tier price once the quantity reaches a tier;
- a buyer company named on a price list valid today gets that list's contract price for the
  variant, or the list's percentage off the tier price;
- of the prices that apply, the buyer pays the lowest.
The quantity must reach the minimum order quantity and be a whole number of case packs, and
no quantity or price may pass the marketplace's bounds (marketplace/bounds.toml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from marketplace.bounds import BOUNDS
from marketplace.errors import InvalidInput
from marketplace.money import apply_basis_points


@dataclass(frozen=True)
class Tier:
    min_quantity: int
    unit_price: int  # minor units


@dataclass(frozen=True)
class VariantTerms:
    variant_id: str
    currency: str
    base_price: int
    tiers: tuple[Tier, ...] = ()
    moq: int = 1
    case_pack: int = 1


@dataclass(frozen=True)
class PriceList:
    id: str
    name: str
    company_ids: frozenset[str]
    valid_from: date | None = None
    valid_until: date | None = None
    percent_off_bp: int | None = None  # basis points: 1250 is 12.5 %
    contract_prices: Mapping[str, int] = field(default_factory=dict)  # variant id -> unit price

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class Quote:
    quantity: int
    unit_price: int
    total: int
    currency: str
    rule: str  # "base", "tier", "contract" or "percent_off"
    explanation: str
    price_list_id: str | None = None


MAX_UNIT_PRICE = BOUNDS.max_unit_price  # minor units
MAX_QUANTITY = BOUNDS.max_quantity


class QuantityRefused(InvalidInput):
    """The quantity breaks the merchant's minimum order or case-pack terms; `accepted_quantity`
    is the nearest quantity the terms would take (None when there is none, as above the bounds)."""

    def __init__(self, detail: str, *, errors=None, accepted_quantity: int | None = None):
        super().__init__(detail, errors=errors)
        self.accepted_quantity = accepted_quantity

    def extra(self) -> dict[str, object]:
        return {} if self.accepted_quantity is None else {"accepted_quantity": self.accepted_quantity}


def accepted_quantity(terms: VariantTerms, quantity: int) -> int | None:
    """The smallest quantity at least `quantity` (and the MOQ) that is whole case packs."""
    wanted = max(terms.moq, quantity if isinstance(quantity, int) else 1, 1)
    accepted = -(-wanted // terms.case_pack) * terms.case_pack
    return accepted if accepted <= MAX_QUANTITY else None


def price_for(
    terms: VariantTerms,
    *,
    quantity: int,
    today: date,
    company_id: str | None = None,
    price_lists: Sequence[PriceList] = (),
) -> Quote:
    check_quantity(terms, quantity)
    candidates = [_retail(terms, quantity)]
    if company_id is not None:
        for price_list in price_lists:
            if company_id in price_list.company_ids and price_list.valid_on(today):
                candidates += _contract(terms, price_list, candidates[0], quantity)
    best = min(candidates, key=lambda q: (q.unit_price, _PREFERENCE[q.rule]))
    return best


_PREFERENCE = {"contract": 0, "percent_off": 1, "tier": 2, "base": 3}


def check_quantity(terms: VariantTerms, quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise QuantityRefused("The quantity must be a whole number of at least 1.", errors={"quantity": ["at least 1"]})
    if quantity > MAX_QUANTITY:
        raise QuantityRefused(f"The marketplace prices at most {MAX_QUANTITY:,} units at once.",
                              errors={"quantity": [f"at most {MAX_QUANTITY:,}"]})
    if quantity < terms.moq:
        raise QuantityRefused(
            f"The minimum order for this item is {terms.moq}.", errors={"quantity": [f"at least {terms.moq} (minimum order)"]},
            accepted_quantity=accepted_quantity(terms, quantity),
        )
    if quantity % terms.case_pack:
        raise QuantityRefused(
            f"This item is sold in cases of {terms.case_pack}.",
            errors={"quantity": [f"a multiple of {terms.case_pack} (case pack)"]},
            accepted_quantity=accepted_quantity(terms, quantity),
        )


def tier_price(terms: VariantTerms, quantity: int) -> tuple[int, Tier | None]:
    """The retail unit price at this quantity and the tier that gave it (None: base price)."""
    reached = [t for t in terms.tiers if t.min_quantity <= quantity]
    if not reached:
        return terms.base_price, None
    tier = max(reached, key=lambda t: t.min_quantity)
    return tier.unit_price, tier


def _retail(terms: VariantTerms, quantity: int) -> Quote:
    unit, tier = tier_price(terms, quantity)
    if tier is None:
        return _quote(terms, quantity, unit, "base", "base price")
    return _quote(terms, quantity, unit, "tier", f"tier price from {tier.min_quantity} units")


def _contract(terms: VariantTerms, price_list: PriceList, retail: Quote, quantity: int) -> list[Quote]:
    quotes = []
    contract = price_list.contract_prices.get(terms.variant_id)
    if contract is not None:
        quotes.append(_quote(terms, quantity, contract, "contract", f"contract price on {price_list.name}", price_list.id))
    if price_list.percent_off_bp:
        unit = apply_basis_points(retail.unit_price, price_list.percent_off_bp)
        percent = f"{price_list.percent_off_bp / 100:g} %"
        quotes.append(
            _quote(terms, quantity, unit, "percent_off", f"{percent} off the {retail.explanation} ({price_list.name})", price_list.id)
        )
    return quotes


def _quote(terms: VariantTerms, quantity: int, unit: int, rule: str, explanation: str, price_list_id: str | None = None) -> Quote:
    return Quote(quantity, unit, unit * quantity, terms.currency, rule, explanation, price_list_id)


def terms_problems(terms: VariantTerms) -> dict[str, list[str]]:
    """What is wrong with a merchant's terms, by field; empty when they are consistent."""
    problems: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    if terms.base_price < 0:
        add("base_price", "must not be negative")
    elif terms.base_price > MAX_UNIT_PRICE:
        add("base_price", f"must be at most {MAX_UNIT_PRICE:,} minor units")
    for name in ("moq", "case_pack"):
        if not 1 <= getattr(terms, name) <= MAX_QUANTITY:
            add(name, f"must be from 1 to {MAX_QUANTITY:,}")
    if "moq" not in problems and "case_pack" not in problems and terms.moq % terms.case_pack:
        add("moq", f"must be a multiple of the case pack ({terms.case_pack})")
    previous_quantity, previous_price = 1, terms.base_price
    for n, tier in enumerate(terms.tiers):
        if tier.min_quantity <= previous_quantity:
            add("tiers", f"tier {n + 1}: quantities must rise (from {tier.min_quantity} after {previous_quantity})")
        elif tier.min_quantity > MAX_QUANTITY:
            add("tiers", f"tier {n + 1}: quantities up to {MAX_QUANTITY:,}")
        if tier.unit_price < 0:
            add("tiers", f"tier {n + 1}: price must not be negative")
        elif tier.unit_price >= previous_price:
            add("tiers", f"tier {n + 1}: price must fall as quantity rises")
        previous_quantity, previous_price = tier.min_quantity, tier.unit_price
    return problems
