"""A marketplace to check out in, for tests: merchants with one product each (through the
merchant API), a signed-in buyer with an address, lines in the cart, and the saga's events
run to completion with the embedded transport."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tests.api.test_merchant_api import merchant, product_body
from tests.support.buyers import signed_up


@dataclass
class Shop:
    merchant_id: str
    region: str
    auth: dict
    variant_id: str  # 250 g, KGN 500 units, no MOQ
    case_variant_id: str  # 1 kg, MOQ 6, cases of 6, KGN 60 units


def open_shop(router, client, name: str, country: str, **stock) -> Shop:
    principal, auth = merchant(router, name, country)
    body = product_body(ref=f"ref-{country}", sku_prefix=country)
    for variant, units in zip(body["variants"], (stock.get("small", 500), stock.get("case", 60))):
        variant["stock"] = {"KGN": units}
    made = client.post("/api/v1/merchant/products", json=body, headers=auth)
    assert made.status_code == 201, made.get_json()
    by_sku = {v["sku"]: v["id"] for v in made.get_json()["variants"]}
    return Shop(principal.merchant_id, principal.region, auth, by_sku[f"{country}-250"], by_sku[f"{country}-1KG"])


def buyer_with_address(client, name: str = "Jo Buyer", country: str = "JM"):
    buyer, auth = signed_up(client, name, country)
    address = client.post("/api/v1/buyer/addresses", headers=auth,
                          json={"recipient": name, "line1": "1 Hope Road", "city": "Kingston", "country": country})
    assert address.status_code == 201, address.get_json()
    return buyer, auth, address.get_json()["id"]


def put(client, auth, shop: Shop, quantity: int, *, case: bool = False):
    return client.put("/api/v1/cart/lines", headers=auth, json={
        "merchant_id": shop.merchant_id, "variant_id": shop.case_variant_id if case else shop.variant_id, "quantity": quantity})


def check_out(client, auth, address_id: str, key: str = "checkout-key-1", **body):
    return client.post("/api/v1/checkouts", headers={**auth, "Idempotency-Key": key},
                       json={"shipping_address_id": address_id, **body})


def settle(platform, relay=None):
    """Run the relays and consumers of every region until no event is ready."""
    return (relay or platform.relay()).drain()


def rows(router, model, region: str, *where) -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def available(router, shop: Shop, variant_id: str | None = None) -> tuple[int, int]:
    """(on hand, reserved) of a shop's variant."""
    from marketplace.inventory.models import StockLevel

    with router.unit_of_work(shop.region, read_only=True) as uow:
        level = uow.session.get(StockLevel, (variant_id or shop.variant_id, "KGN"))
        return level.on_hand, level.reserved


def placed_order(router, merchant_id: str, region: str, *, state: str = "pending_payment") -> str:
    """A merchant order as the saga leaves it (for walks over the order endpoints); its id."""
    from marketplace.orders import states
    from marketplace.orders.models import MerchantOrder
    from marketplace.regions.ids import new_id

    order = MerchantOrder(id=new_id("ord"), region=region, merchant_id=merchant_id, checkout_id=new_id("chk"),
                          buyer_region="kin", state=state, currency="JMD", goods_amount=4500, shipping_amount=79250,
                          total_amount=83750, lines=[{"variant_id": "var_x", "sku": "BM-250", "quantity": 1,
                                                      "unit_price": 4500, "total": 4500}],
                          ship_to={"recipient": "R", "line1": "1 Hope Road", "line2": None, "city": "Kingston",
                                   "postal_code": None, "country": "JM"})
    with router.unit_of_work(region) as uow:
        uow.session.add(order)
        uow.session.flush()
        states.record_initial(uow.session, order, actor="checkout")
        uow.commit()
    return order.id


def ship(client, shop: Shop, order_id: str, *, weight_g: int = 800) -> dict:
    """The one way an order ships: a parcel made for it and handed over to the post. The parcel."""
    made = client.post(f"/api/v1/merchant/orders/{order_id}/shipments", headers=shop.auth, json={"weight_g": weight_g})
    assert made.status_code == 201, made.get_json()
    handed = client.post(f"/api/v1/merchant/shipments/{made.get_json()['id']}/hand-over", headers=shop.auth, json={})
    assert handed.status_code == 200, handed.get_json()
    return handed.get_json()
