"""payments/payout_rails.toml: only member states are named, each with a known rail, and the
Connect ones with the country their Stripe account is opened in."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import payments
from marketplace.regions import regionmap
from payments.rails import BANK_TRANSFER, STRIPE_CONNECT, rail_for

TABLE = tomllib.loads((Path(payments.__file__).with_name("payout_rails.toml")).read_text())


def test_every_country_named_is_a_member_state_with_a_known_rail_and_account_country():
    members = regionmap.load()
    for code, entry in TABLE["countries"].items():
        assert members.member(code) is not None, code
        assert entry["rail"] in TABLE["rails"], code
        assert (entry["rail"] == STRIPE_CONNECT) == bool(entry.get("stripe_country")), code


@pytest.mark.parametrize(("country", "rail", "account_country"), [
    ("PR", STRIPE_CONNECT, "US"), ("mq", STRIPE_CONNECT, "FR"),
    ("BL", BANK_TRANSFER, None),  # outside the EU since 2012, though it pays in euros
    ("JM", BANK_TRANSFER, None), ("CW", BANK_TRANSFER, None),
])
def test_a_merchants_rail_follows_its_home_country(country, rail, account_country):
    found = rail_for(country)
    assert (found.name, found.stripe_country) == (rail, account_country) and found.description
