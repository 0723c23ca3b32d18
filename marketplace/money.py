"""Money: integer minor units with an ISO 4217 code. Never floats.

Currency facts (which codes exist, how many minor units) and locale-aware formatting come
from Babel's CLDR data rather than a table of our own, so a new currency such as the
Caribbean guilder (XCG) is known when Babel is updated.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision, list_currencies

_CURRENCIES = frozenset(list_currencies())
# Plain ASCII decimals only: no exponents, separators, or other scripts' digits. The
# arithmetic below is on integers, so no amount is ever rounded.
_AMOUNT = re.compile(r"^(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?$")


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
        match = _AMOUNT.match(str(text).strip())
        if match is None:
            raise MoneyError(f"{text!r} is not an amount (write it like 1234.50)")
        fraction = (match["fraction"] or "").rstrip("0")
        if len(fraction) > exponent:
            raise MoneyError(f"{text!r} has more than {exponent} decimal places for {currency}")
        amount = int(match["whole"]) * 10**exponent + int(fraction.ljust(exponent, "0") or 0)
        return cls(-amount if match["sign"] else amount, currency)

    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_units(self.currency))

    def plain(self) -> str:
        """'12.50': the form that imports and exports use. Exact for any amount."""
        exponent = minor_units(self.currency)
        whole, fraction = divmod(abs(self.amount), 10**exponent)
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{whole}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole}"

    def format(self, locale: str = "en") -> str:
        return format_currency(self.decimal(), self.currency, locale=locale)


def apply_basis_points(amount: int, basis_points: int) -> int:
    """amount less basis_points/10000 of it, rounded once, half up, to a whole minor unit."""
    kept = Decimal(amount) * (10_000 - basis_points) / Decimal(10_000)
    return int(kept.quantize(Decimal(1), rounding=ROUND_HALF_UP))
