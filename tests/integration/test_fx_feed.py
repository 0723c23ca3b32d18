"""Rates feeds loaded by `cpu fx load`, the rates a region converts money at, and the rate kept
on a converted amount of the ledger."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from payments import fx

CSV_FEED = """source,time,base,quote,rate
ecb,2026-12-02T16:00:00+00:00,USD,EUR,0.95
ecb,2026-12-03T16:00:00+00:00,USD,EUR,0.90
boj,2026-12-03T09:00:00+09:00,JPY,USD,0.0065
"""


def test_a_csv_feed_loads_once_and_the_latest_rate_of_each_currency_is_used(app, router, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(CSV_FEED, encoding="utf-8")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cpu", "fx", "load", str(path), "--region", "kin"])
    assert first.exit_code == 0 and "kin: 3 new rate(s) of 3" in first.output, first.output
    assert "kin: 0 new rate(s) of 3" in runner.invoke(args=["cpu", "fx", "load", str(path), "--region", "kin"]).output
    with router.unit_of_work("kin", read_only=True) as uow:
        rates = fx.rates_in(uow.session)
    assert rates.per_usd["EUR"] == Decimal("0.90") and rates.per_usd["JPY"] == 1 / Decimal("0.0065")
    assert rates.source.startswith("ecb 2026-12-03T16:00:00+00:00") and "reference rates" in rates.source
    # 0 decimals to 3: 10,000 yen = 65 US dollars = 65.000 in three-decimal units, half up once
    assert rates.convert(10_000, "JPY", "USD") == 6_500
    assert fx.rates().convert(1_000, "USD", "EUR") == 920  # the reference rates are untouched
    with router.unit_of_work("fdf", read_only=True) as uow:  # loaded in kin only
        assert fx.rates_in(uow.session).per_usd["EUR"] == Decimal("0.92")


def test_a_json_feed_is_read_like_a_csv_one(tmp_path):
    path = tmp_path / "rates.json"
    path.write_text(json.dumps([{"source": "ecb", "time": "2026-12-03T16:00:00Z", "base": "usd", "quote": "kwd",
                                 "rate": "0.3071"}]), encoding="utf-8")
    assert fx.feed(path)[0]["quote"] == "KWD" and fx.feed(path)[0]["rate"] == "0.3071"


@pytest.mark.parametrize("row, says", [
    ({"source": "x", "time": "2026-12-03T16:00:00", "base": "USD", "quote": "EUR", "rate": "0.9"}, "UTC offset"),
    ({"source": "x", "time": "2026-12-03T16:00:00Z", "base": "USD", "quote": "EUR", "rate": "-1"}, "positive rate"),
    ({"source": "x", "time": "2026-12-03T16:00:00Z", "base": "USD", "quote": "XXY", "rate": "1"}, "ISO 4217"),
    ({"source": "x", "time": "2026-12-03T16:00:00Z", "base": "USD", "quote": "EUR"}, "rate"),
])
def test_a_row_that_is_not_a_rate_is_refused_naming_it(tmp_path, row, says):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    with pytest.raises(ValueError, match=f"bad.json row 1: .*{says}"):
        fx.feed(path)
