"""Demo data for the embedded default: merchants in every region.

Each record is created with an idempotency key derived from its name, so loading twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from marketplace.merchants import service as merchants
from marketplace.regions.router import Router

MERCHANTS = [
    ("Blue Mountain Coffee Traders", "JM"),
    ("Nassau Conch & Craft", "BS"),
    ("Cibao Cacao Cooperative", "DO"),
    ("Jacmel Papier-Mâché Atelier", "HT"),
    ("Great Bay Spice Company", "SX"),
    ("Antigua Black Pineapple Farm", "AG"),
    ("Rhum Agricole de la Martinique", "MQ"),
    ("Basse-Terre Vanille", "GP"),
    ("Bajan Pepper Sauce Works", "BB"),
    ("Grenada Nutmeg Growers", "GD"),
    ("Trinidad Angostura Bark Supply", "TT"),
    ("Demerara Sugar Wholesale", "GY"),
]


def slug(name: str) -> str:
    return "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in name.lower()).split())


def load(router: Router, report: Callable[[str], None] = print) -> None:
    for name, country in MERCHANTS:
        merchant = merchants.register(
            router=router, name=name, home_country=country, idempotency_key=f"demo:{slug(name)}"
        )
        report(f"{merchant.region:<4} {merchant.id}  {merchant.name}")
    report(f"{len(MERCHANTS)} demo merchants ready")
