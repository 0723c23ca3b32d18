"""The checkout saga through the API: a buyer in Jamaica buys from merchants homed in kin, fdf
and pos in one checkout, events delivered by the embedded transport between the regions one
default process serves; and what the buyer is told when a part of it fails."""

from __future__ import annotations

import json

from marketplace.orders.models import BuyerOrder, Checkout, MerchantOrder
from marketplace.webhooks import signing
from tests.support.mail import delivered
from tests.support.shop import available, buyer_with_address, check_out, open_shop, put, rows, settle
from tests.support.webhooks import receiver


def three_shops(router, client):
    return (open_shop(router, client, "Kingston Roasters", "JM"), open_shop(router, client, "Fort Rhum", "MQ"),
            open_shop(router, client, "Port Cocoa", "TT"))


def test_one_checkout_in_kin_makes_three_merchant_orders_each_in_its_own_region(app, client, platform, router):
    kin, fdf, pos = three_shops(router, client)
    assert (kin.region, fdf.region, pos.region) == ("kin", "fdf", "pos")
    buyer, auth, address_id = buyer_with_address(client)
    for shop in (kin, fdf, pos):
        assert put(client, auth, shop, 12).status_code == 200
    cart = client.get("/api/v1/cart", headers=auth).get_json()
    by_merchant = {m["merchant_id"]: m for m in cart["merchants"]}
    assert by_merchant[fdf.merchant_id]["goods"] == {"amount_minor": 12 * 4200, "currency": "EUR"}  # the tier price
    fdf_landed = by_merchant[fdf.merchant_id]["landed"]  # Jamaican coffee from Martinique: duty-free home, GCT due
    assert fdf_landed["shipping"] > 0 and fdf_landed["duties"] == 0 and fdf_landed["taxes"] > 0
    assert by_merchant[fdf.merchant_id]["landed_in_buyer_currency"]["currency"] == "JMD"
    assert cart["total"]["currency"] == "JMD" and all(line["quoted_at"] for line in cart["lines"])

    started = check_out(client, auth, address_id)
    assert started.status_code == 202, started.get_json()
    checkout = started.get_json()
    assert checkout["state"] == "requested" and not checkout["settled"] and len(checkout["legs"]) == 3
    assert client.get("/api/v1/cart", headers=auth).get_json()["lines"] == []

    with receiver(200) as hooks, delivered(app) as messages:
        hook = client.post("/api/v1/merchant/webhooks", headers=fdf.auth,
                           json={"url": hooks.url, "events": ["orders.created", "orders.paid"]}).get_json()
        settle(platform)
        settle(platform)  # the mail and the webhooks of the last steps
    done = client.get(f"/api/v1/checkouts/{checkout['id']}", headers=auth).get_json()
    assert done["state"] == "completed" and done["settled"], done

    # told: the buyer once (from kin, listing all three), each merchant's owner of its order;
    # fdf's webhook got its order created and paid, each signed with its secret
    to_buyer = [m for m in messages if m["To"] == buyer["email"]]
    assert len(to_buyer) == 1 and len(messages) == 4, [m["To"] for m in messages]
    text = to_buyer[0].get_body(("plain",)).get_content()
    assert all(name in text for name in ("Kingston Roasters", "Fort Rhum", "Port Cocoa"))
    assert [json.loads(r.body)["type"] for r in hooks.received] == ["orders.created", "orders.paid"]
    assert all(signing.verify(hook["secret"], r.headers["cpu-signature"], r.body) for r in hooks.received)
    assert {leg["state"] for leg in done["legs"]} == {"confirmed"}
    assert done["total_amount"] > 0 and done["currency"] == "JMD"

    # a scan of every shard: one checkout, in kin; each merchant's order only in its region
    regions = router.regions.region_codes
    assert {r: rows(router, Checkout, r) for r in regions} == {r: int(r == "kin") for r in regions}
    for shop in (kin, fdf, pos):
        found = {r: rows(router, MerchantOrder, r, MerchantOrder.merchant_id == shop.merchant_id) for r in regions}
        assert found == {r: int(r == shop.region) for r in regions}
        assert available(router, shop) == (500 - 12, 0)  # sold once, nothing left held
    assert sum(rows(router, BuyerOrder, r) for r in regions) == 3 == rows(router, BuyerOrder, "kin")

    # the merchant sees its order (lines and address, nothing else of the buyer), paid
    listing = client.get("/api/v1/merchant/orders", headers=fdf.auth).get_json()
    [order] = listing["items"]
    detail = client.get(f"/api/v1/merchant/orders/{order['id']}", headers=fdf.auth).get_json()
    assert detail["state"] == "paid" and detail["currency"] == "EUR" and detail["ship_to"]["country"] == "JM"
    assert set(detail["ship_to"]) == {"recipient", "line1", "line2", "city", "postal_code", "country"}
    assert [(t["from_state"], t["to_state"]) for t in detail["transitions"]] == [(None, "pending_payment"),
                                                                                 ("pending_payment", "paid")]
    assert client.get(f"/api/v1/merchant/orders/{order['id']}", headers=kin.auth).status_code == 404

    # the buyer lists the three, newest first, a page at a time
    page = client.get("/api/v1/orders?limit=2", headers=auth).get_json()
    rest = client.get(f"/api/v1/orders?limit=2&after={page['next']}", headers=auth).get_json()
    ids = [o["id"] for o in page["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and rest["next"] is None
    assert {o["state"] for o in page["items"] + rest["items"]} == {"paid"}

    # a retry of the same checkout is the same checkout, nothing more happens
    again = check_out(client, auth, address_id)
    assert again.status_code == 202 and again.get_json()["id"] == checkout["id"]
    other = check_out(client, auth, address_id, payment_method="invoice")
    assert other.status_code == 422
