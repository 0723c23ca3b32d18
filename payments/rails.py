"""Which payout rail reaches a merchant, read from payout_rails.toml (data, not code: which
countries Stripe Connect reaches is a fact of Stripe's, and it changes)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STRIPE_CONNECT, BANK_TRANSFER = "stripe_connect", "bank_transfer"


@dataclass(frozen=True)
class Rail:
    name: str
    description: str
    stripe_country: str | None = None  # the country of the connected account, on stripe_connect


@cache
def _table() -> dict:
    return tomllib.loads((Path(__file__).with_name("payout_rails.toml")).read_text())


def description(name: str) -> str:
    return _table()["rails"][name]["description"]


def rail_for(country: str) -> Rail:
    """The rail of a merchant homed in `country`."""
    table = _table()
    entry = table["countries"].get(country.upper(), {"rail": table["default"]})
    return Rail(name=entry["rail"], description=table["rails"][entry["rail"]]["description"],
                stripe_country=entry.get("stripe_country"))
