"""Every buyer endpoint of carts, checkouts and orders, called with another buyer's token on
this buyer's objects: 404 for an id of theirs, and nothing of theirs in a listing. The endpoints
come from the url_map (blueprint `orders`), so one added later is walked too."""

from __future__ import annotations

from tests.support.buyers import signed_up
from tests.support.shop import buyer_with_address, check_out, open_shop, put, settle


def order_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("orders.", "buyer_tracking.")):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_another_buyers_token_finds_none_of_this_buyers_cart_checkouts_or_orders(app, client, platform, router):
    shop = open_shop(router, client, "Walk Roasters", "JM")
    _, owner, address_id = buyer_with_address(client, "Owner Buyer")
    assert put(client, owner, shop, 3).status_code == 200
    checkout = check_out(client, owner, address_id).get_json()
    settle(platform)
    [order] = client.get("/api/v1/orders", headers=owner).get_json()["items"]
    assert put(client, owner, shop, 2).status_code == 200  # a cart line of the owner's, still there after
    _, stranger = signed_up(client, "Stranger Buyer")
    owned = {"checkout_id": checkout["id"], "order_id": order["id"], "variant_id": shop.variant_id}
    bodies = {"/cart/lines": {"merchant_id": shop.merchant_id, "variant_id": shop.case_variant_id, "quantity": 6},
              "/checkouts": {"shipping_address_id": address_id}}

    walked = 0
    for rule, method in order_routes(app):
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", owned[name])
        body = next((b for suffix, b in bodies.items() if path.endswith(suffix)), {} if method == "POST" else None)
        headers = {**stranger, "Idempotency-Key": "stranger-walk"}
        response = client.open(path, method=method, json=body, headers=headers)
        walked += 1
        if rule.arguments:
            assert response.status_code == 404, (method, rule.rule, response.status_code)
        else:
            text = response.get_data(as_text=True)
            leaked = [value for value in owned.values() if value in text]
            assert not leaked, (method, rule.rule, leaked)
            if path.endswith("/checkouts"):  # the owner's address is not the stranger's
                assert response.status_code == 404, response.get_json()
        assert client.open(path, method=method, json=body).status_code == 401
    assert walked >= 9

    # the owner's things are as they were
    assert client.get(f"/api/v1/orders/{order['id']}", headers=owner).get_json()["state"] == "paid"
    assert [line["quantity"] for line in client.get("/api/v1/cart", headers=owner).get_json()["lines"]] == [2]
