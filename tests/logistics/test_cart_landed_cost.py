"""The cart and the checkout quote the parcel's landed cost from the postal rates and the
duty tables, and a parcel no postal service takes is refused with the reason."""

from __future__ import annotations

from tests.support.shop import buyer_with_address, check_out, open_shop, put, settle


def test_the_cart_shows_postage_duty_and_tax_of_each_merchants_parcel(client, router):
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, _ = buyer_with_address(client)
    assert put(client, auth, shop, 12).status_code == 200
    (merchant,) = client.get("/api/v1/cart", headers=auth).get_json()["merchants"]
    landed = merchant["landed"]
    # 12 x 260 g = 3,120 g: too heavy for a small packet; registered parcel 5 kg band US$27.00 = TTD 183.06
    assert (landed["service"], landed["shipping"], landed["currency"]) == ("registered_parcel", 18_306, "TTD")
    # 12 x TTD 42.00 = TTD 504.00, about US$74: under Jamaica's US$100 de minimis, no duty; GCT on the CIF value
    assert landed["duties"] == 0 and landed["taxes"] > 0 and "GCT 15%" in landed["basis"]
    assert landed["customs"]["currency"] == "JMD"
    assert landed["customs"]["lines"][0]["duty_reason"] == "under the de minimis threshold"
    assert landed["total"] == landed["goods"] + landed["shipping"] + landed["insurance"] + landed["duties"] + landed["taxes"]
    assert merchant["cannot_ship"] is None


def test_a_parcel_no_service_takes_is_refused_in_the_cart_and_at_checkout(client, router, platform):
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 36, case=True).status_code == 200  # 36 x 1,030 g = 37 kg
    cart = client.get("/api/v1/cart", headers=auth).get_json()
    (merchant,) = cart["merchants"]
    assert merchant["landed"] is None and cart["total"] is None
    assert "ems: weighs 37080 g, the limit is 30000 g" in merchant["cannot_ship"]

    started = check_out(client, auth, address_id)
    assert started.status_code == 202, started.get_json()
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{started.get_json()['id']}", headers=auth).get_json()
    (leg,) = done["legs"]
    assert leg["state"] == "rejected" and "fits no postal service" in leg["reason"], done
