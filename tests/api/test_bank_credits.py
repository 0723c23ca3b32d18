"""Every bank credit is recorded once with what became of it (payments/bank.py): one that pays
nothing (its checkout was cancelled meanwhile, it is short, its reference names nothing, its
invoice is already paid) or pays more than was owed is the payer's money, held in the ledger's
unapplied_credits until `cpu payments returns` gives it back, once. A statement imported twice
changes nothing; two transfers alike in one statement are two credits. The ledger balances."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.money import Money
from marketplace.orders import saga
from marketplace.orders.models import Checkout
from marketplace.regions.base import database_now
from payments import bank
from payments.ledger import balances
from payments.models import BankCredit
from tests.api.test_order_terms import company_buyer
from tests.api.test_payments_flow import kinds, paid_order
from tests.integration.test_ledger import unbalanced_postings
from tests.support.shop import buyer_with_address, check_out, open_shop, put, settle

BUYERS = "kin"  # a Jamaican buyer's region: its checkout's


def bank_checkout(client, platform, router) -> dict:
    """A Jamaican buyer's bank-transfer checkout waiting for the transfer."""
    shop = open_shop(router, client, "Port Cocoa", "TT")
    _, auth, address_id = buyer_with_address(client)
    put(client, auth, shop, 2)
    started = check_out(client, auth, address_id, payment_method="bank_transfer").get_json()
    settle(platform)
    waiting = client.get(f"/api/v1/checkouts/{started['id']}", headers=auth).get_json()
    assert waiting["state"] == "paying"
    return {**waiting, "auth": auth, "amount": f"{Decimal(waiting['total_amount']) / 100:.2f}"}


def cpu(app, *args: str):
    return app.test_cli_runner().invoke(args=["cpu", "payments", *args])


def credits(router, region: str) -> list[BankCredit]:
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(select(BankCredit).order_by(BankCredit.created_at, BankCredit.id)))


def held(router, region: str, currency: str) -> int:
    """What unapplied_credits owes payers (a credit balance, so negated)."""
    with router.unit_of_work(region, read_only=True) as uow:
        return -balances(uow.session).get(("unapplied_credits", currency), 0)


def assert_balanced(router) -> None:
    for region in router.served_regions:
        with router.unit_of_work(region, read_only=True) as uow:
            assert unbalanced_postings(uow.session) == []
            waiting = uow.session.scalars(select(BankCredit).where(BankCredit.returned_at.is_(None))).all()
            owed = {}
            for c in waiting:
                owed[c.currency] = owed.get(c.currency, 0) + c.held
            in_ledger = {currency: -total for (account, currency), total in balances(uow.session).items()
                         if account == "unapplied_credits" and total}
            assert in_ledger == {c: v for c, v in owed.items() if v}


def statement(tmp_path, *lines: tuple, bank_ids: bool = False):
    path = tmp_path / "statement.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "reference", "amount", "currency", *(["bank_id"] if bank_ids else [])])
        writer.writerows(lines)
    return path


def test_a_credit_for_a_checkout_cancelled_meanwhile_is_held_and_returned_once(app, client, platform, router, tmp_path):
    waiting = bank_checkout(client, platform, router)
    with router.unit_of_work(BUYERS) as uow:  # the checkout ran out of time before the transfer came
        uow.session.get(Checkout, waiting["id"]).payment_deadline_at = database_now(uow.session) - timedelta(seconds=1)
        uow.commit()
    assert saga.sweep_deadlines(router, BUYERS) == 1
    settle(platform)

    said = cpu(app, "received", waiting["payment_reference"], waiting["amount"], waiting["currency"])
    assert said.exit_code == 0
    assert f"checkout {waiting['id']} is failed" in said.output and "held for return" in said.output
    assert "0 applied, 1 unapplied" in said.output
    [credit] = credits(router, BUYERS)
    assert (credit.outcome, credit.applied_to, credit.held) == ("unapplied", None, waiting["total_amount"])
    assert held(router, BUYERS, waiting["currency"]) == waiting["total_amount"]
    assert_balanced(router)

    returns = tmp_path / "returns.csv"
    first = cpu(app, "returns", "--region", BUYERS, "--file", str(returns))
    assert first.exit_code == 0 and credit.id in first.output and "1 credit(s) returned" in first.output
    again = cpu(app, "returns", "--region", BUYERS, "--file", str(returns))
    assert again.exit_code == 0 and "0 credit(s) returned" in again.output
    with returns.open(encoding="utf-8") as rows:
        [line] = list(csv.DictReader(rows))
    assert (line["credit_id"], line["reference"], line["amount"], line["currency"]) == (
        credit.id, waiting["payment_reference"], waiting["amount"], waiting["currency"])
    assert held(router, BUYERS, waiting["currency"]) == 0
    assert sorted(kinds(router, BUYERS)) == ["credit_return", "unapplied"]
    assert client.get(f"/api/v1/checkouts/{waiting['id']}", headers=waiting["auth"]).get_json()["state"] == "failed"
    assert_balanced(router)


def test_an_overpaid_invoice_is_paid_and_the_excess_held_for_return(app, client, platform, router, tmp_path):
    shop = open_shop(router, client, "Terms Roasters", "JM")
    buyer, auth, address_id = company_buyer(client)
    client.put(f"/api/v1/merchant/net-terms/{buyer['company_id']}", headers=shop.auth, json={"days": 30})
    put(client, auth, shop, 2)
    assert check_out(client, auth, address_id, payment_method="invoice").status_code == 202
    settle(platform)
    order = paid_order(router, shop)
    reference = client.get(f"/api/v1/merchant/orders/{order.id}", headers=shop.auth).get_json()["invoice_reference"]

    more = f"{Decimal(order.total_amount + 500) / 100:.2f}"
    said = cpu(app, "received", reference, more, order.currency)
    assert f"invoice of order {order.id} paid" in said.output
    assert f"5.00 {order.currency} held for return" in said.output
    [credit] = credits(router, shop.region)
    assert (credit.outcome, credit.applied_to, credit.held) == ("applied", order.id, 500)
    assert sorted(kinds(router, shop.region)) == ["capture", "payment", "unapplied"]
    assert held(router, shop.region, order.currency) == 500
    assert_balanced(router)

    returns = tmp_path / "returns.csv"
    assert "1 credit(s) returned" in cpu(app, "returns", "--region", shop.region, "--file", str(returns)).output
    with returns.open(encoding="utf-8") as rows:
        [line] = list(csv.DictReader(rows))
    assert (line["reference"], line["amount_minor"]) == (reference, "500")
    assert held(router, shop.region, order.currency) == 0
    assert_balanced(router)


def test_a_short_credit_is_held_not_applied(app, client, platform, router):
    waiting = bank_checkout(client, platform, router)
    short = cpu(app, "received", waiting["payment_reference"], "1.00", waiting["currency"])
    assert "does not cover" in short.output and f"1.00 {waiting['currency']} held for return" in short.output
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{waiting['id']}", headers=waiting["auth"]).get_json()["state"] == "paying"
    assert held(router, BUYERS, waiting["currency"]) == 100
    assert "paid" in cpu(app, "received", waiting["payment_reference"], waiting["amount"], waiting["currency"]).output
    settle(platform)
    assert client.get(f"/api/v1/checkouts/{waiting['id']}", headers=waiting["auth"]).get_json()["state"] == "completed"
    assert [(c.outcome, c.held) for c in credits(router, BUYERS)] == [("unapplied", 100), ("applied", 0)]
    assert held(router, BUYERS, waiting["currency"]) == 100  # the short one is still the payer's
    assert_balanced(router)


def test_the_same_statement_imported_twice_records_each_credit_once(app, client, platform, router, tmp_path):
    waiting = bank_checkout(client, platform, router)
    ref, amount, currency = waiting["payment_reference"], waiting["amount"], waiting["currency"]
    path = statement(tmp_path, ("2026-12-03", ref, amount, currency, "TX-1"),
                     ("2026-12-03", "CPU-NOBODY", "7.00", currency, "TX-2"),
                     ("2026-12-03", ref, "not money", currency, "TX-3"), bank_ids=True)
    first = cpu(app, "bank-import", str(path))
    assert first.exit_code == 1 and "line 4" in first.output
    assert f"{ref}: checkout {waiting['id']} paid" in first.output
    assert "CPU-NOBODY: no checkout or invoice waits" in first.output
    assert "1 applied, 1 unapplied, 0 recorded before" in first.output
    settle(platform)
    recorded = [(c.region, c.key, c.outcome, c.held) for r in router.served_regions for c in credits(router, r)]
    assert sorted(k for _, k, _, _ in recorded) == ["bank:TX-1", "bank:TX-2"]
    postings = {r: sorted(kinds(router, r)) for r in router.served_regions}

    again = cpu(app, "bank-import", str(path))
    assert again.exit_code == 1 and "0 applied, 0 unapplied, 2 recorded before" in again.output
    assert "held for return: nothing" in again.output
    settle(platform)
    assert [(c.region, c.key, c.outcome, c.held) for r in router.served_regions for c in credits(router, r)] == recorded
    assert {r: sorted(kinds(router, r)) for r in router.served_regions} == postings
    assert client.get(f"/api/v1/checkouts/{waiting['id']}", headers=waiting["auth"]).get_json()["state"] == "completed"
    assert_balanced(router)


def test_two_transfers_alike_in_one_statement_are_two_credits(app, client, platform, router, tmp_path):
    waiting = bank_checkout(client, platform, router)
    line = ("2026-12-03", waiting["payment_reference"], waiting["amount"], waiting["currency"])
    path = statement(tmp_path, line, line)  # no bank ids: the buyer sent the money twice
    done = cpu(app, "bank-import", str(path))
    assert done.exit_code == 0
    assert "1 applied, 1 unapplied" in done.output and f"checkout {waiting['id']} is already paid" in done.output
    assert [(c.outcome, c.held) for c in credits(router, BUYERS)] == [("applied", 0), ("unapplied", waiting["total_amount"])]
    assert "2 recorded before" in cpu(app, "bank-import", str(path)).output
    assert len(credits(router, BUYERS)) == 2
    settle(platform)
    assert held(router, BUYERS, waiting["currency"]) == waiting["total_amount"]
    assert_balanced(router)


def test_a_process_serving_some_regions_records_no_credit_that_names_nothing_in_them(router):
    """Another region may hold the checkout the reference names: held here as the payer's, the
    same money would be applied there and returned here."""
    credit = bank.Credit.of("CPU-NOWHERE-1", Money(1250, "JMD"), booked_on="2026-12-04")
    with pytest.raises(bank.NotServed, match="not recorded"):
        bank.received(router, ("kin",), credit, receiving="kin")
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.scalars(select(BankCredit)).all() == []
