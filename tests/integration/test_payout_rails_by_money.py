"""The rail is a property of the money (payments/payouts.py): a Connect transfer pays only the
share of orders buyers paid through Stripe, the rest goes by the bank file, and Connect is the
rail only while Stripe says the merchant's account has payouts enabled, as its owner's return
from onboarding and `account.updated` (order-tolerant, recorded once) tell. Through the real
`stripe` library against the local server, and real webhook signatures."""

from __future__ import annotations

import csv
import time

from sqlalchemy import func, select

from marketplace.merchants import accounts
from marketplace.regions.models import OutboxEvent
from payments import service
from payments.ledger import Entry, post
from payments.models import LedgerEntry, LedgerPosting, Payout
from tests.api.test_merchant_api import merchant
from tests.api.test_role_walk import signed_in
from tests.api.test_storefront_pages import PASSWORD
from tests.integration.test_ledger import order_of
from tests.integration.test_payout_failures import assert_ledger_holds_what_is_payable, available, transferred
from tests.integration.test_stripe_provider import SECRET, onboard, stripe_app, tell  # noqa: F401 (the fixture)
from tests.support.stripe_server import event

CARD_NET, COD_NET = 9_200, 4_600  # 100.00 and 50.00 EUR of goods, less the 8 % fee


def delivered(router, merchant_id: str, *, goods: int, method: str) -> str:
    """A delivered order whose money is in: by card through Stripe, or cash the postman collected."""
    with router.unit_of_work("fdf") as uow:
        order = order_of(uow.session, merchant_id, goods=goods, shipping=0)
        provider = "stripe" if method == "card" else "offline"
        service.capture(uow.session, order=order, paid=None, method=method, provider=provider)
        if method == "cash_on_delivery":
            service.received(uow.session, order=order, amount=order.total_amount, paid=None)
        service.release(uow.session, order_id=order.id, merchant_id=merchant_id, why="delivered")
        uow.commit()
        return order.id


def run_payouts(app, bank_file):
    ran = app.test_cli_runner().invoke(args=["cpu", "payments", "payouts", "--region", "fdf", "--bank-file", str(bank_file)])
    assert ran.exit_code == 0, ran.output
    return ran


def bank_lines(bank_file) -> list[tuple[str, int]]:
    if not bank_file.exists():
        return []
    with bank_file.open(encoding="utf-8") as rows:
        return [(line["merchant_id"], int(line["amount_minor"])) for line in csv.DictReader(rows)]


def rail(client, auth) -> dict:
    return client.get("/api/v1/merchant/payouts/rail", headers=auth).get_json()


def test_a_connect_merchant_gets_a_transfer_of_its_card_orders_share_only_and_the_bank_file_pays_the_cash(
        stripe_app, tmp_path):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth)
    card = delivered(router, principal.merchant_id, goods=10_000, method="card")
    cash = delivered(router, principal.merchant_id, goods=5_000, method="cash_on_delivery")
    shown = rail(client, auth)
    assert shown["rail"] == "stripe_connect" and shown["why"] is None
    assert shown["by_payment"] == [{"paid_through": "stripe", "rail": "stripe_connect"},
                                   {"paid_through": "other", "rail": "bank_transfer"}]
    balance = client.get("/api/v1/merchant/balance", headers=auth).get_json()
    assert sorted((p["rail"], p["amount"]) for p in balance["next_payouts"]) == [
        ("bank_transfer", COD_NET), ("stripe_connect", CARD_NET)]

    bank_file = tmp_path / "payouts.csv"
    ran = run_payouts(stripe_app, bank_file)
    assert "fdf: 2 payout(s)" in ran.output
    assert transferred(fake, account) == [CARD_NET]  # not the cash the platform's Stripe balance never held
    assert bank_lines(bank_file) == [(principal.merchant_id, COD_NET)]
    with router.unit_of_work("fdf", read_only=True) as uow:
        made = {p.rail: p for p in uow.session.scalars(select(Payout).where(Payout.merchant_id == principal.merchant_id))}
        assert {rail: (p.amount, p.state) for rail, p in made.items()} == {
            "stripe_connect": (CARD_NET, "sent"), "bank_transfer": (COD_NET, "sent")}
        for rail_name, order_id in (("stripe_connect", card), ("bank_transfer", cash)):
            entries = uow.session.scalars(select(LedgerEntry).join(LedgerPosting).where(
                LedgerPosting.key == f"payout:{made[rail_name].id}", LedgerEntry.account == "merchant_available")).all()
            assert [e.order_id for e in entries] == [order_id], rail_name  # each posts only its own orders
    assert available(router, principal.merchant_id) == 0
    assert_ledger_holds_what_is_payable(router)
    assert client.get("/api/v1/merchant/balance", headers=auth).get_json()["next_payouts"] == []
    page = signed_in(stripe_app, "owner@fort-rhum.example").get("/dashboard/balance").get_data(as_text=True)
    assert "orders paid by card through Stripe by Stripe transfer" in page

    run_payouts(stripe_app, bank_file)  # nothing left: nothing more either way
    assert transferred(fake, account) == [CARD_NET] and len(bank_lines(bank_file)) == 1


def test_orders_of_one_rail_that_owe_are_netted_into_the_other_rails_payout_never_adding_to_a_transfer(
        stripe_app, tmp_path):
    """The cash order's share was taken back beyond what it was owed (a correction): the merchant
    is paid what it is owed in all, by one Connect transfer smaller than its card money."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth)
    delivered(router, principal.merchant_id, goods=10_000, method="card")
    cash = delivered(router, principal.merchant_id, goods=5_000, method="cash_on_delivery")
    with router.unit_of_work("fdf") as uow:
        mine, taken = {"merchant_id": principal.merchant_id, "currency": "EUR"}, COD_NET + 1_400
        post(uow.session, key=f"correction:{cash}", kind="correction", merchant_id=principal.merchant_id, entries=[
            Entry("merchant_available", taken, order_id=cash, **mine), Entry("funds_held", -taken, **mine)])
        uow.commit()

    bank_file = tmp_path / "payouts.csv"
    run_payouts(stripe_app, bank_file)
    assert transferred(fake, account) == [CARD_NET - 1_400] and bank_lines(bank_file) == []
    assert available(router, principal.merchant_id) == 0
    assert_ledger_holds_what_is_payable(router)


def test_an_account_opened_but_not_enabled_is_paid_by_the_bank_file_until_stripe_enables_its_payouts(
        stripe_app, tmp_path):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth, finished=False)
    delivered(router, principal.merchant_id, goods=10_000, method="card")
    waiting = rail(client, auth)
    assert waiting["rail"] == "bank_transfer" and "onboarding is not finished" in waiting["why"]
    assert waiting["stripe_account_id"] == account and waiting["stripe_account"]["payouts_enabled"] is False
    assert "external_account" in waiting["stripe_account"]["requirements_due"]

    bank_file = tmp_path / "payouts.csv"
    run_payouts(stripe_app, bank_file)
    assert transferred(fake, account) == [] and bank_lines(bank_file) == [(principal.merchant_id, CARD_NET)]

    tell(client, event(fake, "account.updated", fake.account_onboarded(account)))
    assert rail(client, auth)["rail"] == "stripe_connect"
    delivered(router, principal.merchant_id, goods=10_000, method="card")
    run_payouts(stripe_app, bank_file)
    assert transferred(fake, account) == [CARD_NET] and len(bank_lines(bank_file)) == 1


def test_an_older_account_update_arriving_late_changes_nothing_and_a_replay_is_a_no_op(stripe_app, tmp_path):
    """Stripe restricted the account (a review) after first enabling it, and the enabling event
    arrives last: the restriction stands, the merchant is paid by bank and is told why."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth, finished=False)
    now = int(time.time())
    enabled = event(fake, "account.updated", fake.account_onboarded(account), created=now + 5)
    restricted = event(fake, "account.updated", fake.account_onboarded(account, payouts=False), created=now + 20)
    assert tell(client, restricted) == {"received": True, "duplicate": False}
    assert tell(client, enabled) == {"received": True, "duplicate": False}  # older: recorded, changes nothing
    shown = rail(client, auth)
    assert shown["rail"] == "bank_transfer" and "restricted" in shown["why"] and "under_review" in shown["why"]
    assert shown["stripe_account"]["requirements_due"] == ["individual.verification.document"]
    page = signed_in(stripe_app, "owner@fort-rhum.example").get("/dashboard/settings").get_data(as_text=True)
    line = next(line for line in page.splitlines() if 'id="payout-rail"' in line)
    assert "Bank transfer" in line and "restricted payouts" in line

    enabled_again = event(fake, "account.updated", fake.account_onboarded(account), created=now + 30)
    assert tell(client, enabled_again)["duplicate"] is False
    assert rail(client, auth)["rail"] == "stripe_connect"
    located = _count_located(router)
    assert tell(client, restricted) == {"received": True, "duplicate": True}  # Stripe delivers it again
    assert tell(client, enabled_again)["duplicate"] is True
    assert _count_located(router) == located and rail(client, auth)["rail"] == "stripe_connect"

    delivered(router, principal.merchant_id, goods=10_000, method="card")
    run_payouts(stripe_app, tmp_path / "payouts.csv")
    assert transferred(fake, account) == [CARD_NET]


def test_back_from_stripes_onboarding_the_account_is_read_from_stripe_and_the_rail_follows(stripe_app):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    principal, auth = merchant(platform.router, "Fort Rhum", "MQ")
    account = onboard(client, auth, finished=False)
    owner = signed_in(stripe_app, "owner@fort-rhum.example")
    back = owner.get("/dashboard/payouts?stripe=done")
    assert back.status_code == 303 and back.headers["Location"].endswith("/dashboard/settings#payout-rail")
    assert rail(client, auth)["rail"] == "bank_transfer"  # Stripe has not enabled it yet

    fake.account_onboarded(account)  # Stripe verified it; no event has come yet
    assert owner.get("/dashboard/payouts?stripe=done").status_code == 303
    assert [r.path for r in fake.requests if r.method == "GET"] == [f"/v1/accounts/{account}"] * 2
    assert rail(client, auth)["rail"] == "stripe_connect"
    line = next(line for line in owner.get("/dashboard/settings").get_data(as_text=True).splitlines()
                if 'id="payout-rail"' in line)
    assert "Stripe Connect" in line and "cash on delivery" in line


def _count_located(router) -> int:
    with router.unit_of_work("kin", read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.topic.in_(("payments.stripe_locate", "payments.stripe_event"))))


def test_events_signed_by_an_endpoint_they_do_not_belong_to_are_acknowledged_and_ignored(stripe_app):
    """A connected account's owner can make objects on its own account (a Standard account
    creates PaymentIntents, with any metadata): the Connect endpoint's events count only when
    they are about that account itself, and the platform's never name a connected account."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    principal, auth = merchant(platform.router, "Fort Rhum", "MQ")
    account = onboard(client, auth, finished=False)
    located = _count_located(platform.router)
    own_intent = {"id": fake.new_id("pi"), "object": "payment_intent", "status": "canceled", "amount": 100,
                  "currency": "eur", "metadata": {"checkout_id": "chk_01M8A0000000000000000000AB"}}
    assert tell(client, event(fake, "payment_intent.canceled", own_intent, account=account)) == {
        "received": True, "ignored": True}
    platform_signed = event(fake, "account.updated", fake.account_onboarded(account))
    assert tell(client, platform_signed, secret=SECRET) == {"received": True, "ignored": True}
    assert _count_located(platform.router) == located
    assert rail(client, auth)["rail"] == "bank_transfer"  # the account is enabled at Stripe, but no event of it counted


def test_staff_see_the_rail_but_not_stripes_requirements_and_cannot_refresh_the_account(stripe_app):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    principal, auth = merchant(platform.router, "Fort Rhum", "MQ")
    account = onboard(client, auth, finished=False)
    tell(client, event(fake, "account.updated", fake.account_onboarded(account, payouts=False)))
    accounts.add_staff(router=platform.router, principal=principal, email="staff@fort-rhum.example", password=PASSWORD)
    staff = signed_in(stripe_app, "staff@fort-rhum.example")
    line = next(line for line in staff.get("/dashboard/settings").get_data(as_text=True).splitlines()
                if 'id="payout-rail"' in line)
    assert "Bank transfer" in line and "under_review" not in line and "verification" not in line
    reads = len(fake.requests)
    assert staff.get("/dashboard/payouts?stripe=done").status_code == 403
    assert len(fake.requests) == reads  # nothing asked of Stripe for a staff user
