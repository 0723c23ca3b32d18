"""A cart's refusals, and an order's life after checkout: the merchant moves it through the
state machine, the buyer cancels before shipment or asks for a return after delivery, and the
buyer's summary follows each answer from the merchant's region."""

from __future__ import annotations

from tests.support.postal import delivered_by_post
from tests.support.shop import available, buyer_with_address, check_out, open_shop, put, settle, ship


def test_moq_and_case_pack_refusals_say_which_quantity_would_be_accepted(client, router):
    shop = open_shop(router, client, "Case Roasters", "JM")
    _, auth, _ = buyer_with_address(client)
    below = put(client, auth, shop, 4, case=True)
    assert below.status_code == 422 and below.get_json()["accepted_quantity"] == 6
    odd = put(client, auth, shop, 8, case=True)
    assert odd.status_code == 422 and odd.get_json()["accepted_quantity"] == 12 and "cases of 6" in odd.get_json()["detail"]
    assert put(client, auth, shop, 12, case=True).status_code == 200
    assert client.get("/api/v1/cart", headers=auth).get_json()["lines"][0]["quote"]["total"] == 12 * 15000


def paid_order(client, router, platform, name="Life Roasters"):
    shop = open_shop(router, client, name, "JM")
    _, auth, address_id = buyer_with_address(client)
    assert put(client, auth, shop, 2).status_code == 200
    check_out(client, auth, address_id)
    settle(platform)
    [order] = client.get("/api/v1/orders", headers=auth).get_json()["items"]
    assert order["state"] == "paid"
    return shop, auth, order["id"]


def move(client, shop, order_id, state):
    return client.put(f"/api/v1/merchant/orders/{order_id}/state", headers=shop.auth, json={"state": state})


def test_a_buyer_cancels_before_shipment_and_the_summary_follows(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth, json={}).status_code == 202
    settle(platform)
    summary = client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()
    assert summary["state"] == "cancelled" and summary["note"] == "Cancelled by the buyer."
    detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert detail["transitions"][-1]["actor"].startswith("buyer:") and detail["state"] == "cancelled"
    assert move(client, shop, order_id, "in_fulfilment").status_code == 409  # cancelled is the end


def test_shipped_orders_cannot_be_cancelled_and_returns_come_after_delivery(client, router, platform):
    shop, auth, order_id = paid_order(client, router, platform)
    assert move(client, shop, order_id, "shipped").status_code == 409  # paid -> shipped skips fulfilment
    assert move(client, shop, order_id, "in_fulfilment").status_code == 200
    parcel = ship(client, shop, order_id)
    settle(platform)
    assert client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()["state"] == "shipped"
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth, json={}).status_code == 409
    assert client.post(f"/api/v1/orders/{order_id}/return", headers=auth, json={}).status_code == 409

    delivered_by_post(client, platform, parcel)
    settle(platform)
    assert client.post(f"/api/v1/orders/{order_id}/return", headers=auth, json={"reason": "wrong size"}).status_code == 202
    settle(platform)
    summary = client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()
    assert summary["return_requested"] and summary["state"] == "delivered"
    detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert detail["return_requested_at"] is not None
    assert [t["to_state"] for t in detail["transitions"]] == ["pending_payment", "paid", "in_fulfilment", "shipped", "delivered"]
    assert available(router, shop) == (498, 0)


def test_a_merchant_cannot_say_an_order_shipped_or_delivered_and_is_told_how_it_ships(client, router, platform):
    """Escrow counts from shipped and ends at delivered: a merchant who could set them would be
    paid for goods it never sent. Shipped comes from a parcel handed over, delivered from the post."""
    shop, auth, order_id = paid_order(client, router, platform)
    assert move(client, shop, order_id, "in_fulfilment").status_code == 200
    said = move(client, shop, order_id, "shipped")
    assert said.status_code == 409 and said.mimetype == "application/problem+json"
    assert "create a shipment" in said.get_json()["detail"] and "/hand-over" in said.get_json()["detail"]
    ship(client, shop, order_id)
    detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert detail["state"] == "shipped" and detail["transitions"][-1]["actor"].startswith("handover:merchant:")
    claimed = move(client, shop, order_id, "delivered")
    assert claimed.status_code == 409 and "postal operator" in claimed.get_json()["detail"]
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "shipped"


def test_a_bank_transfer_order_is_paid_by_the_transfer_not_by_its_merchant(app, client, router, platform):
    """A merchant who could mark a waiting order paid would make the saga skip the buyer's
    transfer when it came: the money would sit in the bank, never booked, never paid out."""
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    waiting = check_out(client, auth, address_id, payment_method="bank_transfer").get_json()
    settle(platform)
    order_id = client.get("/api/v1/merchant/orders", headers=shop.auth).get_json()["items"][0]["id"]
    said = move(client, shop, order_id, "paid")
    assert said.status_code == 409 and "cpu payments received" in said.get_json()["detail"]
    waiting = client.get(f"/api/v1/checkouts/{waiting['id']}", headers=auth).get_json()
    amount = f"{waiting['total_amount'] / 100:.2f}"
    assert "paid" in app.test_cli_runner().invoke(
        args=["cpu", "payments", "received", waiting["payment_reference"], amount, waiting["currency"]]).output
    settle(platform)
    assert client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()["state"] == "paid"
    assert client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()["balances"][0]["held"] > 0


def test_the_buyer_confirms_receipt_once_and_the_merchant_in_another_region_is_paid_from_escrow(client, router, platform):
    from sqlalchemy import func, select

    from marketplace.regions.models import OutboxEvent
    from tests.support.buyers import signed_up

    shop = open_shop(router, client, "Port Cocoa", "TT")  # the merchant's region is not the buyer's (kin)
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    check_out(client, auth, address_id)
    settle(platform)
    [summary] = client.get("/api/v1/orders", headers=auth).get_json()["items"]
    order_id, receipt = summary["id"], f"/api/v1/orders/{summary['id']}/receipt"
    assert shop.region != "kin" and summary["merchant_region"] == shop.region
    early = client.post(receipt, headers=auth, json={})
    assert early.status_code == 409 and "once it has shipped" in early.get_json()["detail"]
    assert move(client, shop, order_id, "in_fulfilment").status_code == 200
    ship(client, shop, order_id)
    settle(platform)

    _, stranger = signed_up(client, "Stranger Buyer")
    assert client.post(receipt, headers=stranger, json={}).status_code == 404
    assert client.post(receipt, headers=shop.auth, json={}).status_code == 401  # a merchant is no buyer
    first = client.post(receipt, headers=auth, json={})
    assert first.status_code == 200 and first.get_json()["receipt_confirmed_at"] is not None

    def sent() -> int:
        with router.unit_of_work("kin", read_only=True) as uow:
            return uow.session.scalar(select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.topic == "orders.receipt.confirmed"))

    again = client.post(receipt, headers=auth, json={})
    assert again.status_code == 200 and again.get_json() == first.get_json() and sent() == 1
    settle(platform)
    detail = client.get(f"/api/v1/merchant/orders/{order_id}", headers=shop.auth).get_json()
    assert detail["state"] == "delivered" and detail["transitions"][-1]["actor"].startswith("buyer:")
    assert client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()["state"] == "delivered"
    [balance] = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()["balances"]
    assert balance["held"] == 0 and balance["available"] > 0
    assert client.post(receipt, headers=auth, json={}).status_code == 200 and sent() == 1
