"""What a buyer pays: `price_for` and the merchant-terms check `terms_problems`.

Expected prices in the tables are worked out by hand from the pricing rules (retail base or
highest reached tier; company price lists valid today give a contract price or a percentage
off the retail tier price, rounded once half up; the lowest applicable price wins).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from marketplace.catalog.pricing import PriceList, QuantityRefused, Tier, VariantTerms, price_for, terms_problems

TODAY = date(2025, 6, 15)
ACME = "com_acme"
VARIANT = "var_crate_mangoes"

# Retail: 10.00 each; 9.00 from 10 units; 8.00 from 50; 7.00 from 100 (JMD, minor units).
TIERED = VariantTerms(
    variant_id=VARIANT,
    currency="JMD",
    base_price=1000,
    tiers=(Tier(10, 900), Tier(50, 800), Tier(100, 700)),
)


def _list(
    id="pl_1",
    *,
    name="Acme wholesale",
    companies=(ACME,),
    valid_from=None,
    valid_until=None,
    percent_off_bp=None,
    contract_prices=None,
):
    return PriceList(
        id=id,
        name=name,
        company_ids=frozenset(companies),
        valid_from=valid_from,
        valid_until=valid_until,
        percent_off_bp=percent_off_bp,
        contract_prices=dict(contract_prices or {}),
    )


# --------------------------------------------------------------------------------------------
# Retail buyers: base price or the highest tier reached
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_price", "rule"),
    [
        pytest.param(1, 1000, "base", id="one_unit_pays_base"),
        pytest.param(9, 1000, "base", id="just_below_first_tier_pays_base"),
        pytest.param(10, 900, "tier", id="exactly_first_tier"),
        pytest.param(49, 900, "tier", id="just_below_second_tier"),
        pytest.param(50, 800, "tier", id="exactly_second_tier"),
        pytest.param(99, 800, "tier", id="just_below_top_tier"),
        pytest.param(100, 700, "tier", id="exactly_top_tier"),
        pytest.param(1000, 700, "tier", id="far_above_top_tier_keeps_top_price"),
    ],
)
def test_a_retail_buyer_pays_the_price_of_the_highest_tier_reached(quantity, unit_price, rule):
    quote = price_for(TIERED, quantity=quantity, today=TODAY)
    assert quote.unit_price == unit_price
    assert quote.total == unit_price * quantity
    assert quote.rule == rule
    assert quote.quantity == quantity
    assert quote.currency == "JMD"
    assert quote.price_list_id is None


@pytest.mark.parametrize(
    ("currency", "base_price", "quantity", "total"),
    [
        pytest.param("JMD", 250, 3, 750, id="jmd_2_decimals"),
        pytest.param("JPY", 1200, 3, 3600, id="jpy_0_decimals"),
        pytest.param("BHD", 1250, 4, 5000, id="bhd_3_decimals"),
        pytest.param("XCG", 1999, 7, 13993, id="xcg_caribbean_guilder"),
        pytest.param("EUR", 0, 5, 0, id="eur_free_item"),
    ],
)
def test_an_item_without_tiers_costs_its_base_price_in_its_own_currency(currency, base_price, quantity, total):
    terms = VariantTerms(variant_id="var_x", currency=currency, base_price=base_price)
    quote = price_for(terms, quantity=quantity, today=TODAY)
    assert (quote.unit_price, quote.total, quote.currency, quote.rule) == (base_price, total, currency, "base")


def test_a_retail_buyer_ignores_price_lists_even_when_they_are_passed():
    price_lists = [_list(contract_prices={VARIANT: 500}, percent_off_bp=5000)]
    quote = price_for(TIERED, quantity=1, today=TODAY, company_id=None, price_lists=price_lists)
    assert (quote.unit_price, quote.rule, quote.price_list_id) == (1000, "base", None)


# --------------------------------------------------------------------------------------------
# Minimum order quantity and case packs
# --------------------------------------------------------------------------------------------

# Sold in cases of 6, at least 2 cases.
CASED = VariantTerms(variant_id="var_rum", currency="TTD", base_price=4500, tiers=(Tier(60, 4000),), moq=12, case_pack=6)


@pytest.mark.parametrize(
    ("quantity", "unit_price"),
    [
        pytest.param(12, 4500, id="exactly_the_moq"),
        pytest.param(18, 4500, id="moq_plus_one_case"),
        pytest.param(54, 4500, id="one_case_below_tier"),
        pytest.param(60, 4000, id="tier_reached_in_whole_cases"),
        pytest.param(600, 4000, id="a_hundred_cases"),
    ],
)
def test_whole_cases_at_or_above_the_minimum_order_are_accepted(quantity, unit_price):
    quote = price_for(CASED, quantity=quantity, today=TODAY)
    assert quote.unit_price == unit_price
    assert quote.total == unit_price * quantity


@pytest.mark.parametrize(
    "quantity",
    [
        pytest.param(6, id="one_case_below_moq"),
        pytest.param(11, id="one_unit_below_moq"),
        pytest.param(13, id="moq_plus_a_loose_unit"),
        pytest.param(20, id="not_a_multiple_of_6"),
        pytest.param(61, id="tier_quantity_but_broken_case"),
        pytest.param(0, id="zero"),
        pytest.param(-12, id="negative_whole_cases"),
    ],
)
def test_quantities_breaking_moq_or_case_pack_are_refused_with_a_quantity_error(quantity):
    with pytest.raises(QuantityRefused) as refused:
        price_for(CASED, quantity=quantity, today=TODAY)
    assert refused.value.status == 422
    assert refused.value.errors.get("quantity")


@pytest.mark.parametrize(
    "quantity",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(1.5, id="fractional_float"),
        pytest.param(2.0, id="whole_float"),
        pytest.param("2", id="numeric_string"),
        pytest.param(None, id="none"),
        pytest.param(True, id="boolean"),
    ],
)
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused(quantity):
    terms = VariantTerms(variant_id="var_x", currency="JMD", base_price=100)
    with pytest.raises(QuantityRefused) as refused:
        price_for(terms, quantity=quantity, today=TODAY)
    assert refused.value.status == 422
    assert refused.value.errors.get("quantity")


def test_a_refused_quantity_is_refused_for_a_company_on_a_price_list_too():
    with pytest.raises(QuantityRefused):
        price_for(CASED, quantity=13, today=TODAY, company_id=ACME, price_lists=[_list(percent_off_bp=5000)])


# --------------------------------------------------------------------------------------------
# Company price lists: contract prices, percent off, the lowest price wins
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price_lists", "quantity", "unit_price", "rule", "price_list_id"),
    [
        pytest.param([_list(contract_prices={VARIANT: 850})], 1, 850, "contract", "pl_1", id="contract_beats_base"),
        pytest.param([_list(contract_prices={VARIANT: 850})], 10, 850, "contract", "pl_1", id="contract_beats_first_tier"),
        pytest.param([_list(contract_prices={VARIANT: 850})], 50, 800, "tier", None, id="tier_below_contract_wins"),
        pytest.param([_list(contract_prices={"var_other": 1})], 1, 1000, "base", None, id="contract_for_another_variant_ignored"),
        pytest.param([_list(percent_off_bp=1000)], 1, 900, "percent_off", "pl_1", id="ten_percent_off_base"),
        pytest.param([_list(percent_off_bp=1000)], 10, 810, "percent_off", "pl_1", id="ten_percent_off_first_tier"),
        pytest.param([_list(percent_off_bp=1000)], 100, 630, "percent_off", "pl_1", id="ten_percent_off_top_tier"),
        pytest.param([_list(percent_off_bp=1250)], 1, 875, "percent_off", "pl_1", id="twelve_and_a_half_percent_off"),
        pytest.param(
            [_list(percent_off_bp=1000, contract_prices={VARIANT: 850})], 1, 850, "contract", "pl_1", id="same_list_contract_lower"
        ),
        pytest.param(
            [_list(percent_off_bp=1000, contract_prices={VARIANT: 850})],
            10,
            810,
            "percent_off",
            "pl_1",
            id="same_list_percent_of_tier_lower",
        ),
        pytest.param(
            [_list("pl_a", percent_off_bp=500), _list("pl_b", contract_prices={VARIANT: 880})],
            1,
            880,
            "contract",
            "pl_b",
            id="two_lists_contract_lower",
        ),
        pytest.param(
            [_list("pl_a", percent_off_bp=2000), _list("pl_b", contract_prices={VARIANT: 850})],
            1,
            800,
            "percent_off",
            "pl_a",
            id="two_lists_percent_lower",
        ),
        pytest.param(
            [_list("pl_old", valid_until=TODAY - timedelta(days=1), contract_prices={VARIANT: 100}), _list("pl_now", percent_off_bp=500)],
            1,
            950,
            "percent_off",
            "pl_now",
            id="expired_cheaper_list_skipped_for_valid_one",
        ),
    ],
)
def test_a_company_pays_the_lowest_price_that_applies(price_lists, quantity, unit_price, rule, price_list_id):
    quote = price_for(TIERED, quantity=quantity, today=TODAY, company_id=ACME, price_lists=price_lists)
    assert quote.unit_price == unit_price
    assert quote.total == unit_price * quantity
    assert quote.rule == rule
    assert quote.price_list_id == price_list_id


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        pytest.param(None, None, id="open_ended"),
        pytest.param(date(2025, 1, 1), date(2025, 12, 31), id="inside_the_year"),
        pytest.param(TODAY, None, id="starts_today"),
        pytest.param(None, TODAY, id="ends_today"),
        pytest.param(TODAY, TODAY, id="valid_only_today"),
    ],
)
def test_a_price_list_valid_today_gives_its_discount(valid_from, valid_until):
    price_list = _list(valid_from=valid_from, valid_until=valid_until, percent_off_bp=2000)
    quote = price_for(TIERED, quantity=1, today=TODAY, company_id=ACME, price_lists=[price_list])
    assert (quote.unit_price, quote.rule, quote.price_list_id) == (800, "percent_off", "pl_1")


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        pytest.param(None, TODAY - timedelta(days=1), id="ended_yesterday"),
        pytest.param(date(2024, 1, 1), date(2024, 12, 31), id="last_year"),
        pytest.param(TODAY + timedelta(days=1), None, id="starts_tomorrow"),
        pytest.param(date(2026, 1, 1), date(2026, 12, 31), id="next_year"),
    ],
)
def test_an_expired_or_not_yet_valid_price_list_gives_no_discount(valid_from, valid_until):
    price_list = _list(valid_from=valid_from, valid_until=valid_until, percent_off_bp=2000, contract_prices={VARIANT: 500})
    quote = price_for(TIERED, quantity=10, today=TODAY, company_id=ACME, price_lists=[price_list])
    assert (quote.unit_price, quote.total, quote.rule, quote.price_list_id) == (900, 9000, "tier", None)


def test_an_expired_price_list_gives_no_discount():
    expired = _list(valid_from=date(2025, 1, 1), valid_until=date(2025, 3, 31), percent_off_bp=5000)
    quote = price_for(TIERED, quantity=1, today=TODAY, company_id=ACME, price_lists=[expired])
    assert (quote.unit_price, quote.rule) == (1000, "base")


def test_a_price_list_for_another_company_gives_no_discount():
    other = _list(companies=("com_other",), percent_off_bp=5000, contract_prices={VARIANT: 1})
    quote = price_for(TIERED, quantity=1, today=TODAY, company_id=ACME, price_lists=[other])
    assert (quote.unit_price, quote.rule, quote.price_list_id) == (1000, "base", None)


def test_a_price_list_shared_by_several_companies_applies_to_each():
    shared = _list(companies=("com_other", ACME), contract_prices={VARIANT: 700})
    quote = price_for(TIERED, quantity=1, today=TODAY, company_id=ACME, price_lists=[shared])
    assert (quote.unit_price, quote.rule) == (700, "contract")


@pytest.mark.parametrize(
    ("base_price", "percent_off_bp", "unit_price"),
    [
        pytest.param(1005, 5000, 503, id="half_a_minor_unit_rounds_up"),
        pytest.param(5, 5000, 3, id="2.5_rounds_up_not_to_even"),
        pytest.param(25, 1000, 23, id="22.5_rounds_up_not_to_even"),
        pytest.param(1, 5000, 1, id="0.5_rounds_up_to_1"),
        pytest.param(999, 1250, 874, id="874.125_rounds_down"),
        pytest.param(101, 2500, 76, id="75.75_rounds_up"),
        pytest.param(1999, 3333, 1333, id="1332.7333_rounds_up"),
        pytest.param(1000, 10000, 0, id="hundred_percent_off_is_free"),
    ],
)
def test_percent_off_is_rounded_once_half_up_to_a_whole_minor_unit(base_price, percent_off_bp, unit_price):
    terms = VariantTerms(variant_id=VARIANT, currency="JMD", base_price=base_price)
    quote = price_for(terms, quantity=3, today=TODAY, company_id=ACME, price_lists=[_list(percent_off_bp=percent_off_bp)])
    assert quote.unit_price == unit_price
    # Rounded per unit, once: the total is the rounded unit price times the quantity.
    assert quote.total == unit_price * 3


@pytest.mark.parametrize(
    ("company_id", "price_lists", "quantity", "rule", "words"),
    [
        pytest.param(None, [], 1, "base", ["base"], id="base"),
        pytest.param(None, [], 50, "tier", ["tier", "50"], id="tier_names_its_quantity"),
        pytest.param(ACME, [_list(name="Acme wholesale", contract_prices={VARIANT: 500})], 1, "contract", ["contract", "Acme wholesale"], id="contract_names_list"),
        pytest.param(ACME, [_list(name="Acme wholesale", percent_off_bp=1000)], 1, "percent_off", ["off", "Acme wholesale"], id="percent_off_names_list"),
    ],
)
def test_the_explanation_names_the_rule_that_set_the_price(company_id, price_lists, quantity, rule, words):
    quote = price_for(TIERED, quantity=quantity, today=TODAY, company_id=company_id, price_lists=price_lists)
    assert quote.rule == rule
    for word in words:
        assert word.lower() in quote.explanation.lower()


# --------------------------------------------------------------------------------------------
# The merchant's terms
# --------------------------------------------------------------------------------------------


def _terms(**changes):
    values = dict(variant_id="var_x", currency="JMD", base_price=1000, tiers=(), moq=1, case_pack=1)
    values.update(changes)
    return VariantTerms(**values)


@pytest.mark.parametrize(
    "terms",
    [
        pytest.param(_terms(), id="plain_base_price"),
        pytest.param(_terms(base_price=0), id="free_item"),
        pytest.param(_terms(tiers=(Tier(10, 900), Tier(50, 800), Tier(100, 0))), id="falling_tiers_down_to_free"),
        pytest.param(_terms(moq=12, case_pack=6, tiers=(Tier(24, 950), Tier(60, 900))), id="cases_with_tiers"),
        pytest.param(_terms(moq=6, case_pack=6), id="moq_of_one_case"),
    ],
)
def test_consistent_terms_have_no_problems(terms):
    assert terms_problems(terms) == {}


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        pytest.param(_terms(base_price=-1), "base_price", id="negative_base_price"),
        pytest.param(_terms(moq=0), "moq", id="moq_zero"),
        pytest.param(_terms(moq=-5), "moq", id="moq_negative"),
        pytest.param(_terms(case_pack=0), "case_pack", id="case_pack_zero"),
        pytest.param(_terms(case_pack=-6), "case_pack", id="case_pack_negative"),
        pytest.param(_terms(tiers=(Tier(10, 900), Tier(10, 800))), "tiers", id="tier_quantities_repeat"),
        pytest.param(_terms(tiers=(Tier(50, 900), Tier(10, 800))), "tiers", id="tier_quantities_fall"),
        pytest.param(_terms(tiers=(Tier(10, 900), Tier(50, 900))), "tiers", id="tier_prices_equal"),
        pytest.param(_terms(tiers=(Tier(10, 800), Tier(50, 900))), "tiers", id="tier_prices_rise"),
        pytest.param(_terms(tiers=(Tier(10, 1100),)), "tiers", id="tier_dearer_than_base"),
        pytest.param(_terms(tiers=(Tier(10, 1000),)), "tiers", id="tier_same_as_base"),
        pytest.param(_terms(tiers=(Tier(10, 900), Tier(50, -1))), "tiers", id="negative_tier_price"),
    ],
)
def test_inconsistent_terms_are_reported_under_the_field_at_fault(terms, field):
    problems = terms_problems(terms)
    assert set(problems) == {field}
    assert all(isinstance(message, str) and message for message in problems[field])


@pytest.mark.parametrize(
    ("moq", "case_pack"),
    [
        pytest.param(10, 4, id="moq_10_cases_of_4"),
        pytest.param(1, 6, id="moq_1_cases_of_6"),
        pytest.param(13, 12, id="moq_13_cases_of_12"),
    ],
)
def test_a_moq_that_is_not_whole_cases_is_a_problem(moq, case_pack):
    problems = terms_problems(_terms(moq=moq, case_pack=case_pack))
    assert problems
    assert set(problems) <= {"moq", "case_pack"}


def test_several_problems_are_all_reported():
    problems = terms_problems(_terms(base_price=-1, case_pack=0, tiers=(Tier(10, -5),)))
    assert {"base_price", "case_pack", "tiers"} <= set(problems)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@st.composite
def consistent_terms(draw):
    currency = draw(st.sampled_from(["JMD", "JPY", "BHD", "XCG", "EUR", "TTD"]))
    case_pack = draw(st.integers(1, 24))
    moq = case_pack * draw(st.integers(1, 10))
    base_price = draw(st.integers(0, 10_000_000))
    tiers, quantity, price = [], 1, base_price
    for quantity_step, price_drop in draw(st.lists(st.tuples(st.integers(1, 500), st.integers(1, 200_000)), max_size=6)):
        quantity, price = quantity + quantity_step, price - price_drop
        if price < 0:
            break
        tiers.append(Tier(quantity, price))
    terms = VariantTerms(
        variant_id=VARIANT, currency=currency, base_price=base_price, tiers=tuple(tiers), moq=moq, case_pack=case_pack
    )
    assume(not terms_problems(terms))
    return terms


@st.composite
def terms_and_two_quantities(draw):
    terms = draw(consistent_terms())
    smallest_cases = terms.moq // terms.case_pack
    cases_1 = draw(st.integers(smallest_cases, smallest_cases + 400))
    cases_2 = draw(st.integers(cases_1 + 1, cases_1 + 400))
    return terms, cases_1 * terms.case_pack, cases_2 * terms.case_pack


@st.composite
def price_lists(draw):
    lists = []
    for n in range(draw(st.integers(0, 3))):
        start = draw(st.none() | st.integers(-30, 30).map(lambda d: TODAY + timedelta(days=d)))
        end = draw(st.none() | st.integers(-30, 30).map(lambda d: TODAY + timedelta(days=d)))
        contract = draw(st.none() | st.integers(0, 10_000_000))
        lists.append(
            _list(
                f"pl_{n}",
                companies=draw(st.sampled_from([(ACME,), ("com_other",), (ACME, "com_other")])),
                valid_from=start,
                valid_until=end,
                percent_off_bp=draw(st.none() | st.integers(1, 10_000)),
                contract_prices={VARIANT: contract} if contract is not None else {},
            )
        )
    return lists


@settings(max_examples=300)
@given(terms_and_two_quantities())
def test_a_retail_buyer_never_pays_more_per_unit_for_buying_more(case):
    terms, q1, q2 = case
    assert price_for(terms, quantity=q2, today=TODAY).unit_price <= price_for(terms, quantity=q1, today=TODAY).unit_price


@settings(max_examples=300)
@given(terms_and_two_quantities(), st.integers(1, 10_000))
def test_a_percent_off_company_never_pays_more_per_unit_for_buying_more(case, percent_off_bp):
    terms, q1, q2 = case
    lists = [_list(percent_off_bp=percent_off_bp)]
    small = price_for(terms, quantity=q1, today=TODAY, company_id=ACME, price_lists=lists)
    large = price_for(terms, quantity=q2, today=TODAY, company_id=ACME, price_lists=lists)
    assert large.unit_price <= small.unit_price


@settings(max_examples=300)
@given(terms_and_two_quantities(), st.sampled_from([None, ACME]), price_lists())
def test_the_total_is_always_the_unit_price_times_the_quantity(case, company_id, lists):
    terms, quantity, _ = case
    quote = price_for(terms, quantity=quantity, today=TODAY, company_id=company_id, price_lists=lists)
    assert quote.total == quote.unit_price * quantity
    assert isinstance(quote.total, int) and isinstance(quote.unit_price, int)
    assert quote.currency == terms.currency
    assert quote.rule in {"base", "tier", "contract", "percent_off"}


@settings(max_examples=300)
@given(terms_and_two_quantities(), price_lists())
def test_a_company_never_pays_more_than_a_retail_buyer(case, lists):
    terms, quantity, _ = case
    retail = price_for(terms, quantity=quantity, today=TODAY)
    company = price_for(terms, quantity=quantity, today=TODAY, company_id=ACME, price_lists=lists)
    assert company.unit_price <= retail.unit_price
