"""Money: integer minor units with an ISO 4217 code. Never floats.

Currency facts (which codes exist, how many minor units) and locale-aware formatting come
from Babel's CLDR data rather than a table of our own, so a new currency such as the
Caribbean guilder (XCG) is known when Babel is updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision, list_currencies

_CURRENCIES = frozenset(list_currencies())


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def is_currency(code: str) -> bool:
    return code in _CURRENCIES


def minor_units(currency: str) -> int:
    if not is_currency(currency):
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code")
    return get_currency_precision(currency)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise MoneyError("money is a whole number of minor units")
        minor_units(self.currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """'12.50' in JMD -> Money(1250, 'JMD'); more decimals than the currency has is an error."""
        exponent = minor_units(currency)
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise MoneyError(f"{text!r} is not an amount")
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{text!r} has more than {exponent} decimal places for {currency}")
        return cls(int(scaled), currency)

    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_units(self.currency))

    def plain(self) -> str:
        """'12.50': the form that imports and exports use."""
        return f"{self.decimal():.{minor_units(self.currency)}f}"

    def format(self, locale: str = "en") -> str:
        return format_currency(self.decimal(), self.currency, locale=locale)


def apply_basis_points(amount: int, basis_points: int) -> int:
    """amount less basis_points/10000 of it, rounded once, half up, to a whole minor unit."""
    kept = Decimal(amount) * (10_000 - basis_points) / Decimal(10_000)
    return int(kept.quantize(Decimal(1), rounding=ROUND_HALF_UP))
