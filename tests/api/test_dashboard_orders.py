"""The dashboard's order pages and terms page, through the Flask test client with CSRF on:
the filtered, paged order list; an order's page and the moves it offers; the return window
and net terms forms; staff and another merchant."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.merchants import accounts, api_keys
from marketplace.orders import states
from marketplace.orders.models import MerchantOrder
from marketplace.regions.ids import new_id
from marketplace.storefront import orders as order_pages
from tests.api.test_storefront_pages import PASSWORD, assert_accessible_outline, open_merchant, page_text, post_form, sign_in_as
from tests.support.buyers import open_company


def make_order(router, owner, *, sku="BM-250", state="paid", days_ago=0, city="Kingston"):
    """A merchant order as the saga leaves it, placed `days_ago`, moved to `state` by the checkout."""
    placed = datetime.now(timezone.utc) - timedelta(days=days_ago)
    order = MerchantOrder(id=new_id("ord"), region=owner.region, merchant_id=owner.merchant_id, checkout_id=new_id("chk"),
                          buyer_region="kin", state="pending_payment", currency="JMD", goods_amount=9000,
                          shipping_amount=1500, total_amount=10500, created_at=placed, updated_at=placed,
                          lines=[{"variant_id": "var_x", "sku": sku, "name": f"Coffee {sku}", "quantity": 2,
                                  "unit_price": 4500, "total": 9000}],
                          ship_to={"recipient": "Ann Buyer", "line1": "1 Hope Road", "line2": "Flat 2", "city": city,
                                   "postal_code": "KN5", "country": "JM"})
    with router.unit_of_work(owner.region) as uow:
        uow.session.add(order)
        uow.session.flush()
        states.record_initial(uow.session, order, actor="checkout")
        if state != "pending_payment":
            states.move(uow.session, order, state, actor="checkout")
        uow.commit()
    return order.id


@pytest.fixture
def owner(client, router):
    principal = open_merchant(router, handle="order-pages")
    sign_in_as(client, principal)
    return principal


def listed(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [part.split('"', 1)[0] for part in text.split('href="/dashboard/orders/')[1:] if part.startswith("ord_")]


def test_the_order_list_filters_by_state_days_and_order_id_or_sku(client, router, owner):
    old = make_order(router, owner, sku="OLD-1", days_ago=10)
    paid = make_order(router, owner, sku="BM-250")
    pending = make_order(router, owner, sku="BM-1KG", state="pending_payment")
    page = client.get("/dashboard/orders/")
    assert page.status_code == 200 and listed(page) == [pending, paid, old]  # newest first
    assert_accessible_outline(page)
    assert listed(client.get("/dashboard/orders/?state=paid")) == [paid, old]
    today = datetime.now(timezone.utc).date()
    assert listed(client.get(f"/dashboard/orders/?placed_to={today - timedelta(days=5)}")) == [old]
    assert listed(client.get(f"/dashboard/orders/?placed_from={today}&placed_to={today}")) == [pending, paid]
    assert listed(client.get("/dashboard/orders/?search=BM-1KG")) == [pending]
    assert listed(client.get("/dashboard/orders/?search=BM")) == []  # a SKU is matched whole, not in part
    assert listed(client.get("/dashboard/orders/?search=BM%25")) == []  # LIKE's wildcards are just characters
    assert listed(client.get(f"/dashboard/orders/?search={old}")) == [old]
    nothing = client.get("/dashboard/orders/?search=NOPE")
    assert listed(nothing) == [] and "No orders match these filters." in page_text(nothing)


def test_a_bad_filter_is_shown_on_its_field(client, router, owner):
    page = client.get("/dashboard/orders/?placed_from=yesterday&state=lost")
    assert page.status_code == 422
    assert "Placed from : Not a valid date." in page_text(page) and "State : Must be one of" in page_text(page)
    assert 'id="placed_from-error"' in page.get_data(as_text=True) and 'id="state-error"' in page.get_data(as_text=True)


def test_days_that_end_before_they_start_are_refused_on_the_page_and_in_the_api(client, router, owner):
    page = client.get("/dashboard/orders/?placed_from=2026-12-03&placed_to=2026-12-01")
    assert page.status_code == 422 and "Placed to : on or after placed_from" in page_text(page)
    _, token = api_keys.create(router=router, principal=owner, name="orders")
    answer = client.get("/api/v1/merchant/orders?placed_from=2026-12-03&placed_to=2026-12-01",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422 and answer.get_json()["errors"] == {"placed_to": ["on or after placed_from"]}


def test_the_order_list_pages_with_a_cursor_keeping_the_filters(client, router, owner, monkeypatch):
    monkeypatch.setattr(order_pages, "PAGE_SIZE", 2)
    made = [make_order(router, owner) for _ in range(3)]
    make_order(router, owner, state="pending_payment")
    first = client.get("/dashboard/orders/?state=paid")
    assert listed(first) == [made[2], made[1]]
    older = first.get_data(as_text=True).split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "state=paid" in older and f"after={made[1]}" in older
    second = client.get(older)
    assert listed(second) == [made[0]] and 'rel="next"' not in second.get_data(as_text=True)
    assert "Newest orders" in page_text(second)


def test_an_order_page_shows_lines_address_totals_history_and_the_moves_allowed(client, router, owner):
    order_id = make_order(router, owner, sku="BM-250")
    page = client.get(f"/dashboard/orders/{order_id}")
    assert page.status_code == 200
    assert_accessible_outline(page)
    text = page_text(page)
    for shown in ("BM-250", "Coffee BM-250", "Ann Buyer", "1 Hope Road", "Flat 2", "Kingston KN5", "State: paid",
                  "pending payment → paid, by checkout", "Move to in fulfilment", "Cancel the order",
                  "Refunds are made with the payment"):
        assert shown in text, shown
    assert "Mark as shipped" not in text  # paid -> shipped skips fulfilment
    assert "105.00" in text and "90.00" in text and "15.00" in text  # total, goods, shipping (JMD)

    moved = post_form(client, f"/dashboard/orders/{order_id}/state", {"state": "in_fulfilment"},
                      form_page=f"/dashboard/orders/{order_id}")
    assert moved.status_code == 303
    after = page_text(client.get(f"/dashboard/orders/{order_id}"))
    assert "State: in fulfilment" in after and f"Order {order_id} is in fulfilment." in after
    assert "Mark as shipped" not in after  # an order ships when a parcel is handed over, not by a button


def test_a_move_the_state_machine_refuses_is_shown_and_changes_nothing(client, router, owner):
    order_id = make_order(router, owner)
    refused = post_form(client, f"/dashboard/orders/{order_id}/state", {"state": "shipped"},
                        form_page=f"/dashboard/orders/{order_id}")
    assert refused.status_code == 409 and "create a shipment" in page_text(refused)
    refund = post_form(client, f"/dashboard/orders/{order_id}/state", {"state": "refunded_fully"},
                       form_page=f"/dashboard/orders/{order_id}")
    assert refund.status_code == 422
    assert "State: paid" in page_text(client.get(f"/dashboard/orders/{order_id}"))


def test_staff_see_and_move_orders_but_not_another_merchants(app, client, router, owner):
    accounts.add_staff(router=router, principal=owner, email="packer@order-pages.example", password=PASSWORD)
    staff = app.test_client()
    assert post_form(staff, "/dashboard/signin", {"email": "packer@order-pages.example", "password": PASSWORD}).status_code == 303
    order_id = make_order(router, owner)
    assert listed(staff.get("/dashboard/orders/")) == [order_id]
    assert post_form(staff, f"/dashboard/orders/{order_id}/state", {"state": "cancelled"},
                     form_page=f"/dashboard/orders/{order_id}").status_code == 303
    assert "State: cancelled" in page_text(staff.get(f"/dashboard/orders/{order_id}"))

    other = open_merchant(router, handle="other-shop", country="MQ")
    stranger = app.test_client()
    sign_in_as(stranger, other)
    assert listed(stranger.get("/dashboard/orders/")) == []
    assert stranger.get(f"/dashboard/orders/{order_id}").status_code == 404
    token_page = "/dashboard/orders/"
    assert post_form(stranger, f"/dashboard/orders/{order_id}/state", {"state": "in_fulfilment"},
                     form_page=token_page).status_code == 404


def test_the_owner_sets_the_return_window_and_grants_and_revokes_net_terms(client, router, owner):
    page = client.get("/dashboard/terms/")
    assert page.status_code == 200 and 'value="14"' in page.get_data(as_text=True)
    assert_accessible_outline(page)
    bad = post_form(client, "/dashboard/terms/return-window", {"return_window_days": "400"}, form_page="/dashboard/terms/")
    assert bad.status_code == 422 and "from 0 to 365 days" in page_text(bad)
    assert post_form(client, "/dashboard/terms/return-window", {"return_window_days": "30"},
                     form_page="/dashboard/terms/").status_code == 303
    assert 'value="30"' in client.get("/dashboard/terms/").get_data(as_text=True)

    company = open_company(router, "Harbour Hotels")
    unknown = post_form(client, "/dashboard/terms/net-terms", {"company_id": "cmp_01M8A0000000000000000000AB", "days": "30"},
                        form_page="/dashboard/terms/")
    assert unknown.status_code == 422 and "No buyer company cmp_01M8A0000000000000000000AB" in page_text(unknown)
    odd = post_form(client, "/dashboard/terms/net-terms", {"company_id": company, "days": "45"}, form_page="/dashboard/terms/")
    assert odd.status_code == 422 and "one of 30, 60" in page_text(odd)
    assert post_form(client, "/dashboard/terms/net-terms", {"company_id": company, "days": "60"},
                     form_page="/dashboard/terms/").status_code == 303
    assert f"{company} net 60" in page_text(client.get("/dashboard/terms/"))
    assert post_form(client, f"/dashboard/terms/net-terms/{company}/revoke", {}, form_page="/dashboard/terms/").status_code == 303
    assert "No company has net terms from you." in page_text(client.get("/dashboard/terms/"))


def test_staff_read_the_terms_but_cannot_change_them(app, client, router, owner):
    accounts.add_staff(router=router, principal=owner, email="clerk@order-pages.example", password=PASSWORD)
    staff = app.test_client()
    assert post_form(staff, "/dashboard/signin", {"email": "clerk@order-pages.example", "password": PASSWORD}).status_code == 303
    page = staff.get("/dashboard/terms/")
    assert page.status_code == 200 and "Only an owner can change these terms." in page_text(page)
    company = open_company(router, "Harbour Hotels")
    assert post_form(staff, "/dashboard/terms/return-window", {"return_window_days": "2"},
                     form_page="/dashboard/terms/").status_code == 403
    assert post_form(staff, "/dashboard/terms/net-terms", {"company_id": company, "days": "30"},
                     form_page="/dashboard/terms/").status_code == 403
    assert 'value="14"' in client.get("/dashboard/terms/").get_data(as_text=True)
    assert "No company has net terms from you." in page_text(client.get("/dashboard/terms/"))
