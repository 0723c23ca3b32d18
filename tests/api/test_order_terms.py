"""A merchant's order terms: the return window buyers' returns are held to, the net payment
terms it grants buyer companies (paying by invoice needs them), and the stock a cancelled
order gives back, once, whoever cancels and however many cancel at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from marketplace.inventory import service as inventory
from marketplace.inventory.models import Reservation
from marketplace.orders.saga import NO_TERMS
from tests.api.test_orders_lifecycle import move, paid_order
from tests.conftest import own_app
from tests.support.buyers import signed_up
from tests.support.postal import delivered_by_post
from tests.support.shop import available, buyer_with_address, check_out, open_shop, placed_order, put, settle, ship


def test_the_return_window_defaults_to_policy_and_the_owner_sets_it(client, router):
    shop = open_shop(router, client, "Window Roasters", "JM")
    assert client.get("/api/v1/merchant/order-settings", headers=shop.auth).get_json() == {"return_window_days": 14}
    changed = client.put("/api/v1/merchant/order-settings", headers=shop.auth, json={"return_window_days": 30})
    assert changed.status_code == 200 and changed.get_json() == {"return_window_days": 30}
    assert client.get("/api/v1/merchant/order-settings", headers=shop.auth).get_json() == {"return_window_days": 30}
    for bad in (400, -1, 2.5, "ten"):
        refused = client.put("/api/v1/merchant/order-settings", headers=shop.auth, json={"return_window_days": bad})
        assert refused.status_code == 422 and "return_window_days" in refused.get_json()["errors"], bad
    assert client.get("/api/v1/merchant/order-settings", headers=shop.auth).get_json() == {"return_window_days": 30}


def test_a_return_asked_for_after_the_window_is_refused_saying_until_when(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    assert client.put("/api/v1/merchant/order-settings", headers=shop.auth, json={"return_window_days": 0}).status_code == 200
    assert move(client, shop, order_id, "in_fulfilment").status_code == 200
    delivered_by_post(client, platform, ship(client, shop, order_id))
    settle(platform)
    assert client.post(f"/api/v1/orders/{order_id}/return", headers=auth, json={}).status_code == 202
    settle(platform)
    summary = client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()
    assert not summary["return_requested"]
    assert "accepted until 20" in summary["note"] and "UTC (0 days after delivery)" in summary["note"]
    detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert detail["return_requested_at"] is None


def company_buyer(client, name="Hotel Buyer"):
    buyer, auth = signed_up(client, name, "JM", company=f"{name} Ltd")
    address = client.post("/api/v1/buyer/addresses", headers=auth,
                          json={"recipient": name, "line1": "1 Hope Road", "city": "Kingston", "country": "JM"})
    return buyer, auth, address.get_json()["id"]


def test_invoice_is_refused_for_a_merchant_that_granted_the_company_no_terms(client, router, platform):
    granting, silent = open_shop(router, client, "Terms Roasters", "JM"), open_shop(router, client, "Cash Rhum", "MQ")
    buyer, auth, address_id = company_buyer(client)
    granted = client.put(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=granting.auth, json={"days": 30})
    assert granted.status_code == 200 and granted.get_json()["days"] == 30
    assert [g["company_id"] for g in client.get("/api/v1/merchant/net-terms", headers=granting.auth).get_json()] == [buyer["company_id"]]
    for shop in (granting, silent):
        assert put(client, auth, shop, 2).status_code == 200
    started = check_out(client, auth, address_id, payment_method="invoice")
    assert started.status_code == 202
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{started.get_json()['id']}", headers=auth).get_json()
    legs = {leg["merchant_id"]: leg for leg in done["legs"]}
    assert done["state"] == "failed"
    assert legs[silent.merchant_id]["state"] == "rejected" and legs[silent.merchant_id]["reason"] == NO_TERMS
    assert legs[silent.merchant_id]["problems"] == {"payment_method": [NO_TERMS]}
    assert legs[granting.merchant_id]["state"] == "cancelled"  # taken, then compensated
    assert available(router, granting) == (500, 0) and available(router, silent) == (500, 0)

    assert put(client, auth, granting, 2).status_code == 200  # with the granting merchant alone it goes through
    again = check_out(client, auth, address_id, key="invoice-2", payment_method="invoice")
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{again.get_json()['id']}", headers=auth).get_json()["state"] == "completed"


def test_net_terms_name_a_real_company_for_30_or_60_days_and_can_be_revoked(client, router):
    shop = open_shop(router, client, "Terms Roasters", "JM")
    buyer, _, _ = company_buyer(client)
    made_up = "cmp_01M8A0000000000000000000AB"
    assert client.put(f"/api/v1/merchant/net-terms/{made_up}", headers=shop.auth, json={"days": 30}).status_code == 404
    assert client.put(f"/api/v1/merchant/net-terms/{buyer['id']}", headers=shop.auth, json={"days": 30}).status_code == 404
    odd = client.put(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth, json={"days": 45})
    assert odd.status_code == 422 and odd.get_json()["errors"] == {"days": ["one of 30, 60"]}
    assert client.get("/api/v1/merchant/net-terms", headers=shop.auth).get_json() == []
    for days in (30, 60):
        assert client.put(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth, json={"days": days}).status_code == 200
    assert [g["days"] for g in client.get("/api/v1/merchant/net-terms", headers=shop.auth).get_json()] == [60]
    assert client.delete(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth).status_code == 204
    assert client.delete(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth).status_code == 404
    assert client.get("/api/v1/merchant/net-terms", headers=shop.auth).get_json() == []


def test_a_buyer_without_a_company_cannot_choose_invoice(client, router):
    shop = open_shop(router, client, "Terms Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    refused = check_out(client, auth, address_id, payment_method="invoice")
    assert refused.status_code == 422 and "payment_method" in refused.get_json()["errors"]
    assert len(client.get("/api/v1/cart", headers=auth).get_json()["lines"]) == 1  # nothing was started


def reservation_status(router, shop, order_id):
    with router.unit_of_work(shop.region, read_only=True) as uow:
        return uow.session.get(Reservation, order_id).status


def test_a_merchant_cancelling_a_paid_order_puts_its_stock_back_once(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    assert available(router, shop) == (498, 0)
    assert move(client, shop, order_id, "cancelled").status_code == 200
    assert available(router, shop) == (500, 0) and reservation_status(router, shop, order_id) == "restocked"
    assert move(client, shop, order_id, "cancelled").status_code == 200  # already: nothing more comes back
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth, json={}).status_code in (202, 409)
    settle(platform)
    assert available(router, shop) == (500, 0)
    assert client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()["state"] == "cancelled"


def test_a_buyer_cancelling_a_paid_order_puts_its_stock_back(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth, json={}).status_code == 202
    settle(platform)
    assert available(router, shop) == (500, 0) and reservation_status(router, shop, order_id) == "restocked"


def test_a_merchant_cancelling_an_unpaid_order_releases_its_hold(client, router):
    shop = open_shop(router, client, "Hold Roasters", "JM")
    order_id = placed_order(router, shop.merchant_id, shop.region)
    with router.unit_of_work(shop.region) as uow:
        inventory.reserve(uow.session, reservation_id=order_id, merchant_id=shop.merchant_id,
                          lines=[(shop.variant_id, 3)], expires_in=timedelta(minutes=10))
        uow.commit()
    assert available(router, shop) == (500, 3)
    assert move(client, shop, order_id, "cancelled").status_code == 200
    assert available(router, shop) == (500, 0) and reservation_status(router, shop, order_id) == "released"


def test_concurrent_cancels_by_merchant_and_buyer_give_the_stock_back_exactly_once(database_config):
    # slots for every caller at once: the race is for the order and its stock, not this server's bulkhead
    with own_app(database_config, CPU_DB_POOL_SIZE="12") as app:
        platform, router, client = app.extensions["cpu"], app.extensions["cpu"].router, app.test_client()
        shop, auth, order_id = paid_order(client, router, platform)
        assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth, json={}).status_code == 202

        def cancel(n):
            if n == 0:  # the buyer's cancel, applied in the merchant's region
                settle(platform)
                return None
            return move(app.test_client(), shop, order_id, "cancelled").status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(cancel, range(6)))
        settle(platform)
        assert set(answers[1:]) == {200}, answers
        assert available(router, shop) == (500, 0)
        detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
        assert [t["to_state"] for t in detail["transitions"]].count("cancelled") == 1
        assert client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()["state"] == "cancelled"
