"""Buyers in tests: a sign-up body for POST /api/v1/buyers, and signing in through the API.
Each name gives its own email."""

from __future__ import annotations

import re
import zlib

PASSWORD = "buyer horse battery staple"


def sign_up_body(name: str, home_country: str = "JM", *, company: str | None = None, **extra) -> dict:
    """The JSON of a buyer's sign-up; with `company`, the buyer opens that company as its admin."""
    local = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")
    body = {"email": f"{local}@buyers.example", "password": PASSWORD, "name": name, "home_country": home_country, **extra}
    if company is not None:
        body["company"] = {"name": company, "tax_registration_number": f"TRN-{zlib.crc32(company.encode()):010d}"}
    return body


def sign_up(client, name: str, home_country: str = "JM", **extra) -> dict:
    response = client.post("/api/v1/buyers", json=sign_up_body(name, home_country, **extra))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sign_in(client, email: str, password: str = PASSWORD) -> dict:
    """The token pair of a new device session."""
    response = client.post("/api/v1/buyer/tokens", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def signed_up(client, name: str, home_country: str = "JM", **extra) -> tuple[dict, dict[str, str]]:
    """A new buyer and the Authorization header of a signed-in device."""
    buyer = sign_up(client, name, home_country, **extra)
    return buyer, bearer(sign_in(client, buyer["email"]))


def open_company(router, name: str = "Harbour Hotels", home_country: str = "JM") -> str:
    """The id of a new buyer company (its admin signed up through the service), for price lists."""
    from marketplace.buyers import accounts

    body = sign_up_body(f"{name} Admin", home_country, company=name)
    return accounts.sign_up(router=router, email=body["email"], password=PASSWORD, name=body["name"],
                            home_country=home_country, company=body["company"]).company_id
