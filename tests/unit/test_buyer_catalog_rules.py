"""The buyers' catalog's small rules, without a database: which language is served, the first
quantity a tier can be bought at, the display currency, and what a cursor may be."""

from __future__ import annotations

import pytest

from marketplace.catalog import pricing, public
from marketplace.catalog.buyer_context import BuyerContext
from marketplace.errors import InvalidInput
from marketplace.regions import regionmap

TEXTS = {"en": "Coffee", "es": "Café", "fr": "  "}


@pytest.mark.parametrize(("wanted", "default", "served"), [
    (("es", "en"), "en", "es"),
    (("fr", "nl"), "es", "es"),  # a blank French title is no French title: the merchant's default
    (("nl",), "nl", "en"),  # the default unwritten: the first written in the marketplace's order
    ((), None, "en"),
])
def test_the_served_language_is_the_buyers_first_written_else_the_merchants(wanted, default, served):
    assert public.served_language(TEXTS, BuyerContext(languages=wanted), default) == served


def test_a_tier_is_priced_at_its_first_quantity_the_terms_accept():
    terms = pricing.VariantTerms("var_x", "JMD", 1000, (pricing.Tier(12, 900),), moq=10, case_pack=5)
    assert public.orderable(terms, 1) == 10
    assert public.orderable(terms, 12) == 15
    assert public.orderable(terms, pricing.MAX_QUANTITY) == pricing.MAX_QUANTITY
    big = pricing.VariantTerms("var_x", "JMD", 1000, moq=1, case_pack=7)
    assert public.orderable(big, pricing.MAX_QUANTITY) is None  # the next whole case is past the bounds


def test_the_display_currency_is_asked_else_the_countrys_else_the_merchants():
    regions = regionmap.load()
    assert public.display_currency(BuyerContext(currency="USD", country="MQ"), "JMD", regions) == "USD"
    assert public.display_currency(BuyerContext(country="TT"), "JMD", regions) == "TTD"
    assert public.display_currency(BuyerContext(country="JP"), "JMD", regions) == "JMD"  # no reference rate for JPY
    assert public.display_currency(BuyerContext(), "JMD", regions) == "JMD"


@pytest.mark.parametrize("cursor", ["", "!!", "e30", "eyJhZnRlciI6ICJtZXJfMDFKMDAwMDAwMDAwMDAwMDAwMDAwMDAwMEEifQ"])
def test_only_cursors_this_api_gave_out_are_taken(cursor):
    with pytest.raises(InvalidInput):
        public.decode_cursor(cursor)


def test_a_cursor_round_trips():
    product_id = "prd_01J0000000000000000000000A"
    assert public.decode_cursor(public.encode_cursor(product_id)) == product_id
