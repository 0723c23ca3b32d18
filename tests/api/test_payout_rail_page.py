"""The dashboard's settings page says how the merchant is paid: the rail its next payout takes.
Without Stripe configured that is the bank file even where Stripe reaches the country (MQ);
with Stripe and an onboarded account it is Connect (tests/integration/test_stripe_provider.py)."""

from __future__ import annotations

import pytest

from marketplace.merchants import accounts
from tests.api.test_storefront_pages import PASSWORD, post_form


@pytest.mark.parametrize(("country", "words"), [("MQ", "Bank transfer"), ("JM", "Bank transfer")])
def test_the_settings_page_names_the_merchants_payout_rail(app, router, country, words):
    handle = f"rail-{country.lower()}"
    accounts.sign_up(router=router, trading_name=f"Rail {country}", legal_name=f"Rail {country} Ltd", home_country=country,
                     email=f"owner@{handle}.example", password=PASSWORD, handle=handle)
    client = app.test_client()
    assert post_form(client, "/dashboard/signin", {"email": f"owner@{handle}.example", "password": PASSWORD}).status_code == 303
    page = client.get("/dashboard/settings").get_data(as_text=True)
    line = next(line for line in page.splitlines() if 'id="payout-rail"' in line)
    assert words in line and "Stripe" not in line
