"""Duty and tax from the data tables (logistics/data/duty_tax.toml, tariffs.csv), each figure
worked by hand here: customs value is CIF (goods + freight + insurance, freight and insurance
shared over the lines by value), duty on CIF, VAT/GCT on CIF + duty, every line rounded half up."""

from __future__ import annotations

import pytest

from logistics import duties
from logistics.service import LandedCost, Parcel, ParcelLine, landed_cost

COFFEE = "090121"  # CET heading 0901: 40%
SOAP = "340111"    # CET heading 3401: 20%


def test_caricom_origin_goods_enter_jamaica_duty_free_but_pay_gct():
    # Trinidad coffee, JMD 20,000.00, postage JMD 2,000.00: CIF 22,000.00; duty 0; GCT 15% = 3,300.00
    assessed = duties.assess(destination="JM", currency="JMD", lines=[duties.Goods(COFFEE, "TT", 2_000_000)],
                             freight=200_000, insurance=0)
    (line,) = assessed.lines
    assert (line.customs_value, line.duty, line.tax) == (2_200_000, 0, 330_000)
    assert "CARICOM origin" in line.duty_reason and "GCT 15%" in assessed.basis


def test_goods_from_outside_caricom_pay_the_cet_rate_of_their_heading_into_barbados():
    # US coffee BBD 300.00 and Chinese soap BBD 100.00; postage 36.00 + insurance 4.00 = 40.00 shared 3:1
    # coffee: CIF 300 + 30 = 330.00; duty 40% = 132.00; VAT 17.5% of 462.00 = 80.85
    # soap:   CIF 100 + 10 = 110.00; duty 20% =  22.00; VAT 17.5% of 132.00 = 23.10
    assessed = duties.assess(destination="BB", currency="BBD",
                             lines=[duties.Goods(COFFEE, "US", 30_000), duties.Goods(SOAP, "CN", 10_000)],
                             freight=3_600, insurance=400)
    assert [(line.customs_value, line.duty_bp, line.duty, line.tax) for line in assessed.lines] == [
        (33_000, 4_000, 13_200, 8_085), (11_000, 2_000, 2_200, 2_310)]
    assert (assessed.duty, assessed.tax) == (15_400, 10_395)


def test_a_parcel_at_or_under_jamaicas_de_minimis_pays_no_duty_but_still_pays_gct():
    # US goods JMD 12,680.00 = US$80.00 at 158.50: under US$100, no duty; postage JMD 1,585.00
    # GCT 15% of CIF 14,265.00 = 2,139.75
    under = duties.assess(destination="JM", currency="JMD", lines=[duties.Goods(COFFEE, "US", 1_268_000)],
                          freight=158_500, insurance=0)
    assert (under.duty, under.tax, under.lines[0].duty_reason) == (0, 213_975, "under the de minimis threshold")
    # the same at JMD 17,435.00 = US$110.00: CIF 19,020.00, duty 40% = 7,608.00, GCT 15% of 26,628.00 = 3,994.20
    over = duties.assess(destination="JM", currency="JMD", lines=[duties.Goods(COFFEE, "US", 1_743_500)],
                         freight=158_500, insurance=0)
    assert (over.duty, over.tax) == (760_800, 399_420)


def test_a_member_outside_the_cet_charges_its_own_tariff_even_on_caricom_goods():
    # The Bahamas: own tariff 25% (one rate, unverified), VAT 10%. Jamaican coffee BSD 100.00, no postage:
    # duty 25.00, VAT 10% of 125.00 = 12.50
    assessed = duties.assess(destination="BS", currency="BSD", lines=[duties.Goods(COFFEE, "JM", 10_000)],
                             freight=0, insurance=0)
    assert (assessed.duty, assessed.tax) == (2_500, 1_250) and "not yet verified" in assessed.basis


@pytest.mark.parametrize(("amount", "basis_points", "expected"), [(1, 5_000, 1), (3, 1_750, 1), (2, 1_250, 0),
                                                                  (2_110_950, 1_500, 316_643)])
def test_each_figure_is_rounded_once_half_up(amount, basis_points, expected):
    assert duties.half_up(amount, basis_points) == expected


def test_every_member_state_has_a_dated_sourced_rate():
    countries = duties.table()["countries"]
    assert len(countries) == 30
    assert all(spec["source"] and spec["as_of"] and isinstance(spec["verified"], bool) for spec in countries.values())


def test_landed_cost_shows_goods_shipping_insurance_duty_and_tax_that_add_up():
    # Trinidad coffee, 250 g, JMD 20,000.00 to Jamaica: small packet 250 g band US$7.00 = JMD 1,109.50;
    # duty 0 (CARICOM origin); GCT 15% of 21,109.50 = 3,166.425 -> 3,166.43 (half up)
    parcel = Parcel("TT", "JM", "JMD", (ParcelLine(1, 2_000_000, 250, 80, 60, 180, COFFEE, "TT"),))
    cost = landed_cost(parcel)
    assert isinstance(cost, LandedCost) and cost.service == "small_packet"
    assert (cost.goods, cost.shipping, cost.insurance, cost.duties, cost.taxes) == (2_000_000, 110_950, 0, 0, 316_643)
    assert cost.total == 2_427_593 and cost.customs["lines"][0]["tax"] == 316_643


def test_landed_cost_in_another_currency_assesses_in_the_destinations_and_converts_back():
    # US coffee sold in USD 300.00 to Barbados, insured: registered parcel (small packets cannot be insured),
    # 500 g -> 1 kg band US$15.00, insurance US$2.00 + 3 x US$1.00 = US$5.00.
    # In BBD (2 per USD): CIF 600 + 30 + 10 = 640.00; duty 40% = 256.00; VAT 17.5% of 896.00 = 156.80
    # back in USD: duty 128.00, VAT 78.40
    parcel = Parcel("JM", "BB", "USD", (ParcelLine(2, 30_000, 250, 80, 60, 180, COFFEE, "US"),), insure=True)
    cost = landed_cost(parcel)
    assert cost.service == "registered_parcel"
    assert (cost.shipping, cost.insurance, cost.duties, cost.taxes) == (1_500, 500, 12_800, 7_840)
    assert cost.total == 30_000 + 1_500 + 500 + 12_800 + 7_840
    assert cost.customs["currency"] == "BBD" and (cost.customs["duty"], cost.customs["tax"]) == (25_600, 15_680)
