"""Money on the embedded default, through the API and the commands: cash on delivery from
checkout through the parcel's hand-over and the operator's signed delivery webhook to the
payout file, a bank transfer waiting for its credit, a paid order cancelled
and refunded; and the money walk (no merchant sees another's balance, no buyer any)."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.orders.models import MerchantOrder
from marketplace.regions import outbox
from marketplace.regions.models import OutboxEvent
from payments.bank import invoice_reference
from payments.ledger import balances
from payments.models import LedgerEntry, LedgerPosting, Refund
from payments.service import fee_for, refund
from tests.api.test_order_terms import company_buyer
from tests.api.test_role_walk import signed_in
from tests.support.postal import delivered_by_post
from tests.support.shop import buyer_with_address, check_out, open_shop, put, settle, ship


def paid_order(router, shop) -> MerchantOrder:
    with router.unit_of_work(shop.region, read_only=True) as uow:
        return uow.session.scalars(select(MerchantOrder).where(MerchantOrder.merchant_id == shop.merchant_id)).one()


def kinds(router, region: str) -> list[str]:
    with router.unit_of_work(region, read_only=True) as uow:
        return [p.kind for p in uow.session.scalars(select(LedgerPosting).order_by(LedgerPosting.id))]


def cash_on_delivery_order(client, platform, router, *, quantity: int):
    """A Jamaican buyer's paid cash-on-delivery order from a Kingston shop: (shop, auth, order)."""
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, quantity)
    check_out(client, auth, address_id, payment_method="cash_on_delivery")
    settle(platform)
    return shop, auth, paid_order(router, shop)


def test_cash_on_delivery_becomes_payable_when_the_post_delivers_and_is_paid_by_the_bank_file(app, client, platform,
                                                                                                 router, tmp_path):
    """The real path end to end: a Trinidadian merchant ships a cash-on-delivery order to
    Jamaica through the API, the Jamaican operator's signed webhook reports it delivered (EMI),
    and the cash the postman collected makes the merchant's share payable."""
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)  # in Kingston
    assert put(client, auth, shop, 3).status_code == 200
    started = check_out(client, auth, address_id, payment_method="cash_on_delivery").get_json()
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()["state"] == "completed"
    order = paid_order(router, shop)
    net = order.total_amount - fee_for(order.goods_amount) - (order.total_amount - order.goods_amount - order.shipping_amount)
    assert kinds(router, shop.region) == ["capture"]  # owed by the buyer, nothing in yet
    before = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()
    assert before["balances"] == [{"currency": order.currency, "held": net, "available": 0, "paid_out": 0}]
    assert before["rail"] == "bank_transfer"

    parcel = ship(client, shop, order.id)
    settle(platform)
    assert kinds(router, shop.region) == ["capture"]  # handed over: the cash is still to collect
    delivered_by_post(client, platform, parcel, operator="jm")  # the destination's operator
    settle(platform)
    delivered_by_post(client, platform, {**parcel}, operator="jm", event_id="again")  # a redelivery: nothing more
    settle(platform)
    assert kinds(router, shop.region) == ["capture", "payment", "release"]
    with router.unit_of_work(shop.region, read_only=True) as uow:
        cash = uow.session.scalars(select(LedgerPosting).where(LedgerPosting.key == f"payment:{order.id}")).one()
        assert [(e.account, e.amount) for e in cash.entries if e.account == "funds_held"] == [("funds_held", order.total_amount)]
    after = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()
    assert after["balances"] == [{"currency": order.currency, "held": 0, "available": net, "paid_out": 0}]

    bank_file = tmp_path / "payouts.csv"
    ran = app.test_cli_runner().invoke(args=["cpu", "payments", "payouts", "--bank-file", str(bank_file)])
    assert ran.exit_code == 0, ran.output
    assert f"{shop.region}: 1 payout(s)" in ran.output and "by bank_transfer" in ran.output
    with bank_file.open(encoding="utf-8") as rows:
        lines = list(csv.DictReader(rows))
    assert [(line["merchant_id"], line["currency"], int(line["amount_minor"])) for line in lines] == [
        (shop.merchant_id, order.currency, net)]
    assert lines[0]["merchant_name"] == "Port Cocoa" and lines[0]["amount"] == f"{net / 100:.2f}"
    again = app.test_cli_runner().invoke(args=["cpu", "payments", "payouts", "--bank-file", str(bank_file)])
    assert "0 payout(s)" in again.output and len(bank_file.read_text().splitlines()) == 2
    paid = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()
    assert paid["balances"] == [{"currency": order.currency, "held": 0, "available": 0, "paid_out": net}]


def test_the_postman_collects_what_remains_owed_after_a_refund_before_delivery(client, platform, router):
    shop, _, order = cash_on_delivery_order(client, platform, router, quantity=3)
    with router.unit_of_work(shop.region) as uow:
        refund(uow.session, order=uow.session.get(MerchantOrder, order.id), amount=1_000)  # one bag short: owes less
        uow.commit()
    delivered_by_post(client, platform, ship(client, shop, order.id))
    settle(platform)
    with router.unit_of_work(shop.region, read_only=True) as uow:
        [event] = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "shipments.delivered")).all()
        assert event.payload["cash_collected"] == {"amount_minor": order.total_amount - 1_000, "currency": order.currency}
        mine = balances(uow.session, LedgerEntry.order_id == order.id)
    assert mine[("funds_held", order.currency)] == order.total_amount - 1_000 and mine[("merchant_held", order.currency)] == 0
    assert ("buyer_clearing", order.currency) not in mine or mine[("buyer_clearing", order.currency)] == 0


def test_a_bank_transfer_waits_for_its_credit_and_a_late_decline_changes_nothing(app, client, platform, router):
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    started = check_out(client, auth, address_id, payment_method="bank_transfer").get_json()
    settle(platform)
    waiting = client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()
    assert waiting["state"] == "paying" and waiting["payment_status"] == "pending"
    reference = waiting["payment_reference"]
    assert reference.startswith("CPU-")
    runner = app.test_cli_runner()
    short = runner.invoke(args=["cpu", "payments", "received", reference, "1.00", waiting["currency"]])
    assert "does not cover" in short.output
    amount = f"{waiting['total_amount'] / 100:.2f}"
    assert "paid" in runner.invoke(args=["cpu", "payments", "received", reference, amount, waiting["currency"]]).output
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()
    assert done["state"] == "completed" and done["payment_status"] == "authorised"
    with router.unit_of_work("kin") as uow:  # the provider's late word, after the money came
        outbox.publish(uow.session, "payments.intent_updated", {"checkout_id": started["id"], "to_region": "kin",
                                                                "status": "declined", "reference": reference,
                                                                "reason": "late"}, key=started["id"])
        uow.commit()
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()["state"] == "completed"
    assert kinds(router, shop.region) == ["capture", "payment"]


def test_a_paid_order_cancelled_by_the_merchant_is_refunded_in_full(client, platform, router):
    shop = open_shop(router, client, "Fort Rhum", "MQ")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    check_out(client, auth, address_id)
    settle(platform)
    order = paid_order(router, shop)
    moved = client.put(f"/api/v1/merchant/orders/{order.id}/state", headers=shop.auth, json={"state": "cancelled"})
    assert moved.status_code == 200, moved.get_json()
    settle(platform)
    assert kinds(router, shop.region) == ["capture", "payment", "refund"]
    with router.unit_of_work(shop.region, read_only=True) as uow:
        refund = uow.session.scalars(select(Refund)).one()
    assert (refund.amount, refund.state) == (order.total_amount, "refunded")
    assert refund.provider_reference == f"offline-refund:{refund.id}"
    balance = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()
    assert balance["balances"] == [{"currency": order.currency, "held": 0, "available": 0, "paid_out": 0}]


def test_money_walk_no_merchant_sees_another_merchants_balance_and_no_buyer_sees_any(app, client, platform, router):
    seller, other = open_shop(router, client, "Kingston Roasters", "JM"), open_shop(router, client, "Port Cocoa", "TT")
    neighbour = open_shop(router, client, "Blue Mountain", "JM")  # same region as the seller
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, seller, 2)
    check_out(client, auth, address_id)
    settle(platform)
    order = paid_order(router, seller)
    mine = client.get("/api/v1/merchant/balance", headers=seller.auth).get_json()
    assert mine["merchant_id"] == seller.merchant_id and [line["order_id"] for line in mine["lines"]] == [order.id]
    for stranger in (other, neighbour):
        seen = client.get("/api/v1/merchant/balance", headers=stranger.auth)
        assert seen.status_code == 200
        assert seen.get_json() == {"merchant_id": stranger.merchant_id, "rail": "bank_transfer", "why": None,
                                   "balances": [], "next_payouts": [], "lines": []}
        assert order.id not in seen.get_data(as_text=True)
    as_buyer = client.get("/api/v1/merchant/balance", headers=auth)
    assert as_buyer.status_code == 401 and order.id not in as_buyer.get_data(as_text=True)
    anonymous = client.get("/api/v1/merchant/balance")
    assert anonymous.status_code == 401
    # the dashboard's page, signed in as each owner
    page = signed_in(app, "owner@kingston-roasters.example").get("/dashboard/balance")
    assert page.status_code == 200 and order.id in page.get_data(as_text=True)
    for stranger in ("owner@port-cocoa.example", "owner@blue-mountain.example"):
        page = signed_in(app, stranger).get("/dashboard/balance")
        assert page.status_code == 200 and order.id not in page.get_data(as_text=True)
        assert "No money yet" in page.get_data(as_text=True)


def test_reconciliation_lists_every_difference_between_the_ledger_and_the_bank(app, client, platform, router, tmp_path):
    shops = [open_shop(router, client, name, "JM") for name in ("Kingston Roasters", "Blue Mountain")]
    _, auth, address_id = buyer_with_address(client)
    for shop in shops:
        put(client, auth, shop, 2)
    check_out(client, auth, address_id)
    settle(platform)
    for shop in shops:
        delivered_by_post(client, platform, ship(client, shop, paid_order(router, shop).id))
    settle(platform)
    ours = tmp_path / "payouts.csv"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["cpu", "payments", "payouts", "--bank-file", str(ours)]).exit_code == 0
    period = ["--since", "2000-01-01", "--until", "2100-01-01"]
    clean = runner.invoke(args=["cpu", "payments", "reconcile", *period, "--bank-file", str(ours)])
    assert clean.exit_code == 0 and "2 payout(s) in the ledger, 0 difference(s)" in clean.output, clean.output

    with ours.open(encoding="utf-8") as rows:
        lines = list(csv.DictReader(rows))
    lines[0]["amount_minor"] = str(int(lines[0]["amount_minor"]) - 1)  # the bank paid a cent less
    dropped = lines.pop(1)  # and never executed the second
    lines.append({**dropped, "payout_id": "pyo_01JZZZZZZZZZZZZZZZZZZZZZZZ"})  # and one we never made
    bank = tmp_path / "bank.csv"
    with bank.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    found = runner.invoke(args=["cpu", "payments", "reconcile", *period, "--bank-file", str(bank)])
    assert found.exit_code == 1 and "3 difference(s)" in found.output, found.output
    assert f"{lines[0]['payout_id']}: ledger {int(lines[0]['amount_minor']) + 1} JMD, bank {lines[0]['amount_minor']} JMD" in found.output
    assert f"{dropped['payout_id']}: in the ledger" in found.output and "no payout in the ledger" in found.output


def test_a_payment_in_the_buyers_currency_keeps_the_rate_it_was_converted_at(client, platform, router):
    shop = open_shop(router, client, "Fort Rhum", "MQ")  # prices in EUR; the buyer pays in JMD
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    check_out(client, auth, address_id)
    settle(platform)
    order = paid_order(router, shop)
    with router.unit_of_work(shop.region, read_only=True) as uow:
        funds = uow.session.scalars(select(LedgerPosting).where(LedgerPosting.key == f"payment:{order.id}")).one().entries
    entry = next(e for e in funds if e.account == "funds_held")
    assert (entry.currency, entry.amount, entry.original_currency) == ("EUR", order.total_amount, "JMD")
    assert entry.fx_source.startswith("reference rates 2026-11-01")
    assert abs(entry.original_amount * Decimal(entry.fx_rate) - order.total_amount) <= 1


def test_a_provider_error_that_will_not_pass_declines_the_payment(client, platform, router, monkeypatch):
    from payments.gateways import OfflineProvider, PaymentProviders, ProviderError

    class Broken(OfflineProvider):
        def create_payment(self, **kwargs):
            raise ProviderError("The account is closed.", retryable=False)

    monkeypatch.setattr(platform, "payments", PaymentProviders.only(Broken()))
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    started = check_out(client, auth, address_id).get_json()
    settle(platform)
    done = client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()
    assert done["state"] == "failed" and "declined: The account is closed." in done["reason"]


@pytest.mark.parametrize("completed_first", [False, True], ids=["delivered", "completed"])
def test_a_cash_on_delivery_receipt_confirmed_before_the_post_reports_waits_for_the_cash(client, platform, router,
                                                                                         completed_first):
    shop, auth, order = cash_on_delivery_order(client, platform, router, quantity=2)
    parcel = ship(client, shop, order.id)
    settle(platform)
    assert client.post(f"/api/v1/orders/{order.id}/receipt", headers=auth, json={}).status_code == 200
    settle(platform)
    assert paid_order(router, shop).state == "delivered" and kinds(router, shop.region) == ["capture"]
    if completed_first:  # the merchant closed the order before the post reported: the cash still counts
        assert client.put(f"/api/v1/merchant/orders/{order.id}/state", headers=shop.auth,
                          json={"state": "completed"}).status_code == 200
    delivered_by_post(client, platform, parcel)  # the postman's word, with the cash, comes after
    settle(platform)
    assert kinds(router, shop.region) == ["capture", "payment", "release"]


def test_an_invoice_paid_by_the_company_after_delivery_makes_the_share_payable_once(app, client, platform, router):
    """Net terms: the goods go first and the company pays the merchant's invoice later, by a bank
    transfer carrying the invoice's reference. Until it does, the share stays held even after
    delivery; the credit books the payment and ends escrow; the same credit again pays nothing."""
    shop = open_shop(router, client, "Terms Roasters", "JM")
    buyer, auth, address_id = company_buyer(client)
    assert client.put(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth,
                      json={"days": 30}).status_code == 200
    put(client, auth, shop, 2)
    assert check_out(client, auth, address_id, payment_method="invoice").status_code == 202
    settle(platform)
    order = paid_order(router, shop)
    reference = client.get(f"/api/v1/merchant/orders/{order.id}", headers=shop.auth).get_json()["invoice_reference"]
    assert reference and reference.startswith("INV-")
    net = order.total_amount - fee_for(order.goods_amount) - (order.total_amount - order.goods_amount - order.shipping_amount)

    delivered_by_post(client, platform, ship(client, shop, order.id))
    settle(platform)
    assert kinds(router, shop.region) == ["capture"]  # delivered, but the invoice is not paid
    assert client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()["balances"][0]["available"] == 0

    runner = app.test_cli_runner()
    amount = f"{Decimal(order.total_amount) / 100:.2f}"
    short = runner.invoke(args=["cpu", "payments", "received", reference, "1.00", order.currency])
    assert "does not cover" in short.output
    assert "paid" in runner.invoke(args=["cpu", "payments", "received", reference, amount, order.currency]).output
    assert "already paid" in runner.invoke(args=["cpu", "payments", "received", reference.lower(), amount,
                                                 order.currency]).output
    # the short credit and the second one pay nothing: each is held for return (tests/api/test_bank_credits.py)
    assert kinds(router, shop.region) == ["capture", "unapplied", "payment", "release", "unapplied"]
    after = client.get("/api/v1/merchant/balance", headers=shop.auth).get_json()
    assert after["balances"] == [{"currency": order.currency, "held": 0, "available": net, "paid_out": 0}]


def test_only_an_invoice_order_takes_an_invoice_credit(app, client, platform, router):
    shop = open_shop(router, client, "Card Roasters", "JM")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 1)
    check_out(client, auth, address_id)
    settle(platform)
    order = paid_order(router, shop)
    assert client.get(f"/api/v1/merchant/orders/{order.id}", headers=shop.auth).get_json()["invoice_reference"] is None
    said = app.test_cli_runner().invoke(args=["cpu", "payments", "received", invoice_reference(order.id), "999.00",
                                              order.currency]).output
    assert "not paid by invoice" in said
    unknown = app.test_cli_runner().invoke(args=["cpu", "payments", "received", "INV-01M8A0000000000000000000AB",
                                                 "1.00", order.currency]).output
    assert "no checkout or invoice waits" in unknown
