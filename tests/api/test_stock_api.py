"""The merchant stock API: a variant's stock by location, and counting a location with If-Match,
as a merchant's integration (a warehouse system) would use it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.inventory import service as inventory
from tests.api.test_merchant_api import merchant, product_body


@pytest.fixture
def kingston(router, client):
    principal, auth = merchant(router, "Stock Api Roasters", "JM")
    product = client.post("/api/v1/merchant/products", json=product_body(), headers=auth).get_json()
    variant = next(v for v in product["variants"] if v["sku"] == "BM-250")  # KGN 500
    return principal, auth, product, variant["id"]


def stock_path(variant_id, location=None):
    return f"/api/v1/merchant/variants/{variant_id}/stock" + (f"/{location}" if location else "")


def hold(router, principal, variant_id, quantity, reservation_id):
    with router.unit_of_work(principal.region) as uow:
        inventory.reserve(uow.session, reservation_id=reservation_id, merchant_id=principal.merchant_id,
                          lines=[(variant_id, quantity)], expires_in=timedelta(minutes=15))
        uow.commit()


def test_a_merchant_reads_on_hand_reserved_and_available_by_location(client, router, kingston):
    principal, auth, _, variant_id = kingston
    hold(router, principal, variant_id, 20, "ord-api-1")
    stock = client.get(stock_path(variant_id), headers=auth)
    assert stock.status_code == 200
    [kgn] = stock.get_json()["locations"]
    assert (kgn["location"], kgn["on_hand"], kgn["reserved"], kgn["available"]) == ("KGN", 500, 20, 480)


def test_a_count_from_a_read_a_sale_overtook_is_refused_and_the_sale_stands(client, router, kingston):
    principal, auth, product, variant_id = kingston
    revision = client.get(stock_path(variant_id), headers=auth).get_json()["locations"][0]["revision"]
    hold(router, principal, variant_id, 3, "ord-api-2")
    with router.unit_of_work(principal.region) as uow:
        inventory.commit(uow.session, reservation_id="ord-api-2")
        uow.commit()

    stale = client.put(stock_path(variant_id, "KGN"), json={"on_hand": 500}, headers={**auth, "If-Match": f'"{revision}"'})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert stale.get_json()["revision"] == revision + 1

    fresh = client.put(stock_path(variant_id, "KGN"), json={"on_hand": 497 + 10}, headers={**auth, "If-Match": f'"{revision + 1}"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == f'"{revision + 2}"'
    assert fresh.get_json()["on_hand"] == 507

    # the product shows the same counts (one source of truth), and its ETag moved with the stock
    read = client.get(f"/api/v1/merchant/products/{product['id']}", headers=auth)
    assert {v["sku"]: v["stock"] for v in read.get_json()["variants"]} == {"BM-1KG": {"KGN": 60}, "BM-250": {"KGN": 507}}
    assert read.headers["ETag"] != f'"{product["revision"]}"'
    stale_product = client.put(f"/api/v1/merchant/products/{product['id']}", json=product_body(),
                               headers={**auth, "If-Match": f'"{product["revision"]}"'})
    assert stale_product.status_code == 412  # a product PUT from before the sale cannot undo it


def test_a_count_below_what_checkouts_hold_is_refused_with_the_held_units(client, router, kingston):
    principal, auth, _, variant_id = kingston
    hold(router, principal, variant_id, 120, "ord-api-3")
    refused = client.put(stock_path(variant_id, "KGN"), json={"on_hand": 100}, headers=auth)
    assert refused.status_code == 409
    assert refused.get_json()["reserved"] == 120 and "on_hand" in refused.get_json()["errors"]
    assert client.get(stock_path(variant_id), headers=auth).get_json()["locations"][0]["on_hand"] == 500


def test_a_new_location_is_added_and_bad_counts_are_refused(client, kingston):
    _, auth, _, variant_id = kingston
    added = client.put(stock_path(variant_id, "MBJ"), json={"on_hand": 12}, headers=auth)
    assert added.status_code == 200 and added.get_json()["revision"] == 1
    assert [loc["location"] for loc in client.get(stock_path(variant_id), headers=auth).get_json()["locations"]] == ["KGN", "MBJ"]
    assert client.put(stock_path(variant_id, "MBJ"), json={"on_hand": -1}, headers=auth).status_code == 422
    assert client.put(stock_path(variant_id, "X" * 41), json={"on_hand": 1}, headers=auth).status_code == 422
    assert client.put(stock_path(variant_id, "MBJ"), json={"on_hand": 1}, headers={**auth, "If-Match": "W/\"1\""}).status_code == 422
    assert client.put(stock_path(variant_id, "OCHO"), json={"on_hand": 1}, headers={**auth, "If-Match": '"1"'}).status_code == 412
    assert client.get(stock_path("var_01M8A0000000000000000000AB"), headers=auth).status_code == 404
