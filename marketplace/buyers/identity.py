"""Who a signed-in buyer is, and what their company role lets them do.

A BuyerPrincipal is what a checked access token stands for: the buyer, their home region and
the preferences other packages need (the public catalog's language and currency, search's
audience), and the company they act for with their role. Company permissions are a table in
roles.toml, the one place that says which role may do what."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from marketplace.errors import NotFound, PermissionDenied

ROLES_FILE = Path(__file__).with_name("roles.toml")


@cache
def _table() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    raw = tomllib.loads(ROLES_FILE.read_text(encoding="utf-8"))
    return raw["actions"], {role: frozenset(spec["may"]) for role, spec in raw["roles"].items()}


def company_roles() -> tuple[str, ...]:
    return tuple(_table()[1])


@dataclass(frozen=True)
class BuyerPrincipal:
    buyer_id: str
    region: str
    country: str
    language: str
    currency: str
    company_id: str | None = None
    company_role: str | None = None
    session_id: str | None = None  # the signed-in device (the family of the token)

    @property
    def is_business(self) -> bool:
        return self.company_id is not None

    def company_for(self, action: str) -> str:
        """The id of the buyer's company if their role may do `action`: NotFound (404) for a
        buyer of no company (there is no company here to speak of), PermissionDenied (403) for
        a role that may not."""
        if self.company_id is None or self.company_role is None:
            raise NotFound("You act for no company.")
        actions, roles = _table()
        if action not in roles.get(self.company_role, frozenset()):
            raise PermissionDenied(f"A company {self.company_role} cannot {actions[action]}.")
        return self.company_id
