"""Price buckets (search.prices): round bounds in the buyer's currency from the engine's
counts per rung; pure functions, no engine."""

import pytest

from search import prices
from search.query import USD_RUNGS


def rung_of(ladder: prices.Ladder, cents: int) -> int:
    return max(n for n, low in enumerate(ladder.usd) if low <= cents)


def counted(ladder: prices.Ladder, prices_usd: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for cents in prices_usd:
        counts[rung_of(ladder, cents)] = counts.get(rung_of(ladder, cents), 0) + 1
    return counts


def test_the_dollar_ladder_is_0_1_2_50_5_10_25_50_dollars_and_so_on():
    assert USD_RUNGS[:8] == (0, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)
    assert prices.ladder("USD").usd == USD_RUNGS


def test_a_currency_without_minor_units_skips_the_half_units():
    assert prices.round_bounds(0)[:6] == (0, 1, 5, 10, 25, 50)


def test_a_currency_of_small_units_keeps_only_rungs_a_cent_apart():
    ladder = prices.ladder("JMD")
    assert list(ladder.usd) == sorted(set(ladder.usd))
    assert ladder.bounds[:1] == (0,) and len(ladder.bounds) == len(ladder.usd)


@pytest.mark.parametrize("prices_usd", [[450], [350, 550, 650, 700, 800, 900, 1000, 1300, 2400, 57000],
                                        [100] * 9 + [99_999_00], list(range(50, 100_000, 997))])
def test_buckets_are_few_not_empty_cover_every_product_once_and_start_at_zero(prices_usd):
    ladder = prices.ladder("USD")
    buckets = prices.buckets(counted(ladder, prices_usd), ladder)
    assert 1 <= len(buckets) <= prices.MAX_BUCKETS
    assert buckets[0].low == 0 and all(b.count > 0 for b in buckets)
    assert all(a.high == b.low for a, b in zip(buckets, buckets[1:]))
    for cents in prices_usd:
        assert sum(1 for b in buckets if b.low <= cents and (b.high is None or cents < b.high)) == 1
    assert sum(b.count for b in buckets) == len(prices_usd)


def test_buckets_share_the_products_about_evenly():
    ladder = prices.ladder("USD")
    buckets = prices.buckets(counted(ladder, [300, 700, 1500, 3000, 7000, 15000, 30000, 70000, 150000, 300000]), ladder)
    assert [(b.low, b.high, b.count) for b in buckets] == [
        (0, 1_000, 2), (1_000, 5_000, 2), (5_000, 25_000, 2), (25_000, 100_000, 2), (100_000, 500_000, 2)]


def test_no_products_no_buckets():
    assert prices.buckets({}, prices.ladder("EUR")) == []


def test_the_top_rung_has_no_upper_bound():
    ladder = prices.ladder("USD")
    top = len(ladder.usd) - 1
    [bucket] = prices.buckets({top: 3}, ladder)
    assert bucket.high is None and bucket.value == "0-"


@pytest.mark.parametrize("value", ["", "10", "-10", "10-5", "10-10", "a-b", "1" * 19 + "-"])
def test_a_selection_that_is_not_a_bucket_is_refused(value):
    with pytest.raises(ValueError):
        prices.selection_usd(value, "EUR")


def test_a_selection_is_converted_like_the_ladder():
    ladder = prices.ladder("EUR")
    assert prices.selection_usd(f"{ladder.bounds[4]}-{ladder.bounds[5]}", "EUR") == (ladder.usd[4], ladder.usd[5])
    assert prices.selection_usd("2500-", "EUR")[1] is None


def test_labels_are_money_as_the_buyers_language_writes_it():
    assert prices.label(prices.Bucket(1_000, 2_500, 3), "EUR", "en") == "€10.00–€25.00"
    assert prices.label(prices.Bucket(25_000, None, 1), "EUR", "fr").endswith("€+")
