"""Money: integer minor units per ISO 4217 currency, parsing, plain text and locale formatting.

Expected values are worked out by hand from each currency's number of minor units
(JPY 0, JMD/EUR/XCG/TTD 2, BHD 3).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import Money, MoneyError, apply_basis_points


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        pytest.param("12.50", "JMD", 1250, id="jmd_two_decimals"),
        pytest.param("12.5", "JMD", 1250, id="jmd_one_decimal"),
        pytest.param("12", "JMD", 1200, id="jmd_no_decimals"),
        pytest.param("0.01", "EUR", 1, id="eur_one_cent"),
        pytest.param("1000000.00", "TTD", 100_000_000, id="ttd_a_million"),
        pytest.param("12.50", "XCG", 1250, id="xcg_caribbean_guilder_has_cents"),
        pytest.param("1234", "JPY", 1234, id="jpy_has_no_minor_unit"),
        pytest.param("1.234", "BHD", 1234, id="bhd_has_three_decimals"),
        pytest.param("0.005", "BHD", 5, id="bhd_five_fils"),
        pytest.param("1.2", "BHD", 1200, id="bhd_short_decimals"),
        pytest.param("0", "EUR", 0, id="zero"),
    ],
)
def test_parse_reads_an_amount_into_minor_units_of_its_currency(text, currency, amount):
    assert Money.parse(text, currency) == Money(amount, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        pytest.param("12.505", "JMD", id="jmd_three_decimals"),
        pytest.param("0.001", "EUR", id="eur_tenth_of_a_cent"),
        pytest.param("1.5", "JPY", id="jpy_any_decimal"),
        pytest.param("1.2345", "BHD", id="bhd_four_decimals"),
        pytest.param("12.501", "XCG", id="xcg_three_decimals"),
        pytest.param("twelve", "JMD", id="words"),
        pytest.param("", "JMD", id="empty"),
        pytest.param("12,50", "EUR", id="comma_decimal_separator"),
        pytest.param("$12.50", "USD", id="currency_symbol"),
        pytest.param("12.50 JMD", "JMD", id="trailing_code"),
        pytest.param("1.2.3", "JMD", id="two_points"),
        pytest.param("NaN", "JMD", id="not_a_number"),
        pytest.param("Infinity", "JMD", id="infinity"),
        pytest.param("12.50", "ZZZ", id="unknown_currency"),
        pytest.param("12.50", "", id="empty_currency"),
        pytest.param("12.50", "DOLLARS", id="currency_name_not_code"),
    ],
)
def test_parse_refuses_what_is_not_money(text, currency):
    with pytest.raises(MoneyError):
        Money.parse(text, currency)


def test_parse_refuses_extra_decimals_even_on_a_very_long_amount():
    # 28 integer digits and a third decimal: must be refused, not rounded to a different amount.
    with pytest.raises(MoneyError):
        Money.parse("1234567890123456789012345678.001", "JMD")


def test_money_in_an_unknown_currency_cannot_exist():
    with pytest.raises(MoneyError):
        Money(100, "ZZZ")


@pytest.mark.parametrize(
    ("amount", "currency", "plain"),
    [
        pytest.param(1250, "JMD", "12.50", id="jmd"),
        pytest.param(5, "EUR", "0.05", id="eur_five_cents"),
        pytest.param(1234, "XCG", "12.34", id="xcg"),
        pytest.param(1234, "JPY", "1234", id="jpy_no_point"),
        pytest.param(1234, "BHD", "1.234", id="bhd_three_places"),
        pytest.param(5, "BHD", "0.005", id="bhd_five_fils"),
        pytest.param(0, "EUR", "0.00", id="zero_keeps_places"),
    ],
)
def test_plain_writes_the_currency_s_number_of_decimals(amount, currency, plain):
    assert Money(amount, currency).plain() == plain
    assert Money.parse(plain, currency) == Money(amount, currency)


@given(
    st.sampled_from(["JMD", "JPY", "BHD", "XCG", "EUR", "TTD", "USD", "XCD"]),
    st.integers(-(10**18), 10**18),
)
def test_plain_round_trips_through_parse(currency, amount):
    money = Money(amount, currency)
    assert Money.parse(money.plain(), currency) == money


def test_plain_never_rounds_a_very_large_amount():
    money = Money(10**30 + 1, "JMD")
    assert money.plain() == "10000000000000000000000000000.01"


def test_amounts_in_different_currencies_are_different_money():
    assert Money.parse("12.50", "JMD") != Money.parse("12.50", "TTD")


@pytest.mark.parametrize(
    ("amount", "currency", "en", "nl"),
    [
        pytest.param(123456789, "EUR", "1,234,567.89", "1.234.567,89", id="eur_grouping_and_decimals"),
        pytest.param(1250, "XCG", "12.50", "12,50", id="xcg_decimal_separator"),
    ],
)
def test_format_follows_the_locale_s_separators(amount, currency, en, nl):
    money = Money(amount, currency)
    assert en in money.format("en")
    assert nl in money.format("nl")
    assert money.format("en") != money.format("nl")


def test_format_shows_the_euro_sign():
    assert "€" in Money(1250, "EUR").format("en")
    assert "€" in Money(1250, "EUR").format("nl")


def test_format_shows_no_decimals_for_yen():
    formatted = Money(1235, "JPY").format("en")
    assert "1,235" in formatted
    assert "." not in formatted


def test_format_shows_three_decimals_for_bahraini_dinar():
    assert "1.234" in Money(1234, "BHD").format("en")


@pytest.mark.parametrize(
    ("amount", "basis_points", "kept"),
    [
        pytest.param(1000, 1250, 875, id="12.5_percent_off_exact"),
        pytest.param(1005, 5000, 503, id="502.5_rounds_up"),
        pytest.param(5, 5000, 3, id="2.5_rounds_up_not_to_even"),
        pytest.param(25, 1000, 23, id="22.5_rounds_up_not_to_even"),
        pytest.param(3, 5000, 2, id="1.5_rounds_up"),
        pytest.param(999, 1250, 874, id="874.125_rounds_down"),
        pytest.param(101, 2500, 76, id="75.75_rounds_up"),
        pytest.param(7, 3000, 5, id="4.9_rounds_up"),
        pytest.param(1999, 3333, 1333, id="1332.7333_rounds_up"),
        pytest.param(1000, 0, 1000, id="nothing_off"),
        pytest.param(1000, 10000, 0, id="everything_off"),
        pytest.param(0, 2500, 0, id="free_stays_free"),
    ],
)
def test_apply_basis_points_takes_the_share_off_and_rounds_half_up(amount, basis_points, kept):
    assert apply_basis_points(amount, basis_points) == kept


@given(st.integers(0, 10**12), st.integers(0, 10_000))
def test_apply_basis_points_matches_integer_half_up_rounding(amount, basis_points):
    # amount * (10000 - bp) / 10000, rounded half up, computed with integers only.
    numerator = amount * (10_000 - basis_points)
    assert apply_basis_points(amount, basis_points) == (2 * numerator + 10_000) // 20_000
