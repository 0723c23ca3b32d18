"""Opening merchant accounts in tests: a body for POST /api/v1/merchants, and the same
through the service. Each name gives its own handle and email."""

from __future__ import annotations

import re

from marketplace.merchants import accounts, service

PASSWORD = "correct horse battery"


def registration(name: str, home_country: str, **extra) -> dict:
    """The JSON of a registration of `name`, with the owner's sign-in and a handle."""
    handle = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return {"name": name, "legal_name": f"{name} Ltd", "home_country": home_country,
            "email": f"owner@{handle}.example", "password": PASSWORD, "handle": handle, **extra}


def open_account(router, name: str, home_country: str):
    """The merchant of a new account, opened as the API would."""
    body = registration(name, home_country)
    owner = accounts.sign_up(router=router, trading_name=body["name"], legal_name=body["legal_name"],
                             home_country=home_country, email=body["email"], password=PASSWORD, handle=body["handle"])
    return service.get(router=router, merchant_id=owner.merchant_id)
