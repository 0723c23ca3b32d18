"""Postal services, their limits and the rate table (logistics/data/services.toml, rates.csv):
prices worked out from the rows by hand."""

from __future__ import annotations

import pytest

from logistics import rates
from logistics.rates import Item, NoServiceFits

COFFEE_BAG = Item(1, 250, 80, 60, 180)


def prices(quotes):
    return [(q.service, q.billable_weight_g, q.postage, q.insurance) for q in quotes]


def test_a_small_parcel_between_member_states_is_offered_every_service_cheapest_first():
    # small packet 250 g band US$7.00; registered parcel 1 kg band US$15.00; EMS: 80x60x180 mm = 173 g
    # volumetric, the actual 250 g counts, 500 g band US$28.00
    quotes = rates.quotes(origin="JM", destination="TT", items=[COFFEE_BAG], value_usd=2_000)
    assert prices(quotes) == [("small_packet", 250, 700, 0), ("registered_parcel", 250, 1_500, 0), ("ems", 250, 2_800, 0)]


def test_at_home_the_domestic_rows_apply():
    quotes = rates.quotes(origin="JM", destination="JM", items=[COFFEE_BAG], value_usd=2_000)
    assert prices(quotes)[0] == ("small_packet", 250, 350, 0)


def test_rows_for_the_origin_region_beat_the_general_ones():
    # Martinique (region fdf) to Guadeloupe, 3 kg: fdf->GP 5 kg band US$16.00, not the general US$27.00
    three_kilos = [Item(3, 1_000, 200, 150, 100)]
    quotes = rates.quotes(origin="MQ", destination="GP", items=three_kilos, value_usd=10_000)
    assert ("registered_parcel", 3_000, 1_600, 0) in prices(quotes)
    elsewhere = rates.quotes(origin="JM", destination="GP", items=three_kilos, value_usd=10_000)
    assert ("registered_parcel", 3_000, 2_700, 0) in prices(elsewhere)


def test_ems_bills_a_light_bulky_parcel_by_its_volume():
    # a 1 kg lampshade 400x400x300 mm = 48,000 cm3: too big for a small packet (27,000 cm3);
    # registered parcel by actual weight, 1 kg band US$15.00; EMS 48,000 cm3 / 5,000 = 9.6 kg, 10 kg band US$110.00
    lampshade = [Item(1, 1_000, 400, 400, 300)]
    quotes = rates.quotes(origin="JM", destination="BB", items=lampshade, value_usd=5_000)
    assert prices(quotes) == [("registered_parcel", 1_000, 1_500, 0), ("ems", 9_600, 11_000, 0)]


def test_insurance_is_priced_per_started_hundred_and_only_where_the_service_offers_it():
    # US$250.00 insured: registered parcel 2.00 + 3 x 1.00 = 5.00; EMS 3.00 + 3 x 0.80 = 5.40
    quotes = rates.quotes(origin="JM", destination="BB", items=[COFFEE_BAG], value_usd=25_000, insure=True)
    assert prices(quotes) == [("registered_parcel", 250, 1_500, 500), ("ems", 250, 2_800, 540)]


def test_a_declared_value_over_a_services_limit_takes_the_next_service():
    quotes = rates.quotes(origin="JM", destination="BB", items=[COFFEE_BAG], value_usd=60_000)
    assert [q.service for q in quotes] == ["registered_parcel", "ems"]


@pytest.mark.parametrize(("items", "said"), [
    ([Item(35, 1_000, 100, 100, 100)], {"small_packet": "weighs 35000 g, the limit is 2000 g",
                                        "registered_parcel": "weighs 35000 g, the limit is 20000 g",
                                        "ems": "weighs 35000 g, the limit is 30000 g"}),
    ([Item(1, 5_000, 1_600, 100, 100)], {"small_packet": "weighs 5000 g, the limit is 2000 g",
                                         "registered_parcel": "an item is 1600 mm long, the limit is 1050 mm",
                                         "ems": "an item is 1600 mm long, the limit is 1500 mm"}),
])
def test_a_parcel_that_fits_no_service_is_refused_with_each_services_reason(items, said):
    with pytest.raises(NoServiceFits) as refused:
        rates.quotes(origin="JM", destination="TT", items=items, value_usd=1_000)
    assert refused.value.reasons == said
    assert all(reason in refused.value.detail for reason in said.values())
    assert refused.value.status == 422 and "parcel" in refused.value.errors


def test_a_parcel_too_heavy_by_volume_for_ems_says_so():
    # 20 kg in 1,000x700x250 mm = 175,000 cm3, 35 kg by volume: EMS (volumetric) refuses it, the registered
    # parcel bills actual weight and takes it up to its 20 kg; one gram more and nothing does
    items = [Item(1, 20_000, 1_000, 700, 250)]
    quotes = rates.quotes(origin="JM", destination="TT", items=items, value_usd=1_000)
    assert [q.service for q in quotes] == ["registered_parcel"]
    with pytest.raises(NoServiceFits) as refused:
        rates.quotes(origin="JM", destination="TT", items=[Item(1, 20_001, 1_000, 700, 250)], value_usd=1_000)
    assert refused.value.reasons["ems"] == "volumetric weight 35000 g is over the limit of 30000 g"


def test_one_parcel_is_charged_by_its_billable_weight_on_the_service_chosen():
    lampshade = Item(1, 1_000, 400, 400, 300)
    assert rates.postage(service="ems", origin="JM", destination="BB", parcel=lampshade) == rates.Quote(
        "ems", 9_600, 11_000, 0)
    assert rates.postage(service="registered_parcel", origin="JM", destination="BB", parcel=lampshade) == rates.Quote(
        "registered_parcel", 1_000, 1_500, 0)
    assert rates.postage(service="ems", origin="JM", destination="BB", parcel=Item(1, 1_000)).billable_weight_g == 1_000


def test_one_parcel_its_service_cannot_take_is_refused_on_the_field_that_breaks_the_limit():
    with pytest.raises(rates.InvalidInput) as refused:
        rates.postage(service="small_packet", origin="JM", destination="BB", parcel=Item(1, 500, 400, 400, 300))
    assert refused.value.errors == {"parcel": ["takes 48000 cm³, the limit is 27000 cm³ (small_packet)"]}
    with pytest.raises(rates.InvalidInput) as refused:
        rates.postage(service="small_packet", origin="JM", destination="BB", parcel=Item(1, 2_500))
    assert refused.value.errors == {"weight_g": ["at most 2000 for small_packet"]}
    assert "weighs 2500 g, the limit is 2000 g" in refused.value.detail
