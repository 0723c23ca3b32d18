"""A payout whose Stripe transfer fails (docs in payments/payouts.py): refused for good, the
payout is failed and its money back in the merchant's available balance, paid by the next run;
refused for now, it stays sending and the next run sends the same payout again, so Stripe's
idempotency key (the payout id) keeps the merchant from being paid twice. The run goes on with
the other merchants and exits 1. A bank payout a stopped run left sending is in one bank file,
once. Through the real `stripe` library against the local server."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from payments import payouts, service
from payments.ledger import balances
from payments.models import LedgerEntry, Payout
from tests.api.test_merchant_api import merchant
from tests.integration.test_ledger import order_of, totals, unbalanced_postings
from tests.integration.test_stripe_provider import onboard, stripe_app  # noqa: F401 (the fixture)

NET = 9_200  # an order of 100.00 EUR goods, less the 8 % fee


def payable_order(router, merchant_id: str) -> None:
    with router.unit_of_work("fdf") as uow:
        order = order_of(uow.session, merchant_id, goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method="card", provider="stripe", reference=None)
        service.release(uow.session, order_id=order.id, merchant_id=merchant_id, why="delivered")
        uow.commit()


def run_payouts(app, tmp_path):
    return app.test_cli_runner().invoke(args=["cpu", "payments", "payouts", "--region", "fdf",
                                              "--bank-file", str(tmp_path / "payouts.csv")])


def available(router, merchant_id: str) -> int:
    with router.unit_of_work("fdf", read_only=True) as uow:
        return -balances(uow.session, LedgerEntry.merchant_id == merchant_id).get(("merchant_available", "EUR"), 0)


def payouts_of(router, merchant_id: str) -> list[tuple[str, str, int]]:
    with router.unit_of_work("fdf", read_only=True) as uow:
        return [(p.id, p.state, p.amount) for p in uow.session.scalars(
            select(Payout).where(Payout.merchant_id == merchant_id).order_by(Payout.created_at, Payout.id))]


def paid_out(client, auth) -> int:
    """Paid out so far, as the merchant's balance statement says it."""
    [eur] = client.get("/api/v1/merchant/balance", headers=auth).get_json()["balances"]
    return eur["paid_out"]


def transferred(fake, account: str) -> list[int]:
    return [o["amount"] for o in fake.objects.values() if o["object"] == "transfer" and o["destination"] == account]


def assert_ledger_holds_what_is_payable(router) -> None:
    with router.unit_of_work("fdf", read_only=True) as uow:
        assert unbalanced_postings(uow.session) == []
        money = totals(uow.session)
        assert money["funds_held"] == -(money["merchant_held"] + money["merchant_available"] + money["fee_revenue"])


def test_a_transfer_refused_for_good_fails_the_payout_returns_the_money_and_the_next_run_pays_it_once(stripe_app, tmp_path):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    shops = [merchant(router, name, "MQ") for name in ("Fort Rhum", "Anse Cacao")]
    accounts = {principal.merchant_id: onboard(client, auth) for principal, auth in shops}
    for principal, _ in shops:
        payable_order(router, principal.merchant_id)
    fake.refuse("transfers", 400, "invalid_request_error", "Your destination account needs to have at least one of "
                "the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
                "insufficient_capabilities_for_transfer")

    ran = run_payouts(stripe_app, tmp_path)
    assert ran.exit_code == 1, ran.output
    refused, paid = sorted((p.merchant_id for p, _ in shops), key=lambda m: payouts_of(router, m)[0][1] != "failed")
    [(failed_id, state, amount)] = payouts_of(router, refused)
    assert (state, amount) == ("failed", NET) and failed_id in ran.output
    assert "NOT PAID" in ran.output and "capabilities enabled" in ran.output and "fdf: 1 payout(s), 1 failed" in ran.output
    assert available(router, refused) == NET and transferred(fake, accounts[refused]) == []  # the money is back
    auth_of = {principal.merchant_id: auth for principal, auth in shops}
    assert paid_out(client, auth_of[refused]) == 0 and paid_out(client, auth_of[paid]) == NET
    assert [p[1] for p in payouts_of(router, paid)] == ["sent"] and transferred(fake, accounts[paid]) == [NET]
    assert_ledger_holds_what_is_payable(router)

    again = run_payouts(stripe_app, tmp_path)
    assert again.exit_code == 0, again.output
    assert [p[1] for p in payouts_of(router, refused)] == ["failed", "sent"]  # a new payout, a new key
    assert transferred(fake, accounts[refused]) == [NET] and transferred(fake, accounts[paid]) == [NET]
    assert available(router, refused) == available(router, paid) == 0
    assert paid_out(client, auth_of[refused]) == paid_out(client, auth_of[paid]) == NET  # a failed payout paid nothing
    assert_ledger_holds_what_is_payable(router)


def test_a_transfer_refused_for_now_stays_sending_and_the_next_run_retries_the_same_payout_first(stripe_app, tmp_path):
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth)
    payable_order(router, principal.merchant_id)
    fake.refuse("transfers", 429, "invalid_request_error", "Too many requests hit the API too quickly.", "rate_limit")

    ran = run_payouts(stripe_app, tmp_path)
    assert ran.exit_code == 1 and "the next run retries it" in ran.output, ran.output
    [(payout_id, state, amount)] = payouts_of(router, principal.merchant_id)
    assert (state, amount) == ("sending", NET) and available(router, principal.merchant_id) == 0
    assert transferred(fake, account) == []
    assert_ledger_holds_what_is_payable(router)

    payable_order(router, principal.merchant_id)  # more money becomes payable meanwhile
    again = run_payouts(stripe_app, tmp_path)
    assert again.exit_code == 0, again.output
    keys = [seen.idempotency_key for seen in fake.requests if seen.path == "/v1/transfers" and seen.method == "POST"]
    assert keys[:2] == [f"{payout_id}:transfer"] * 2 and len(keys) == 3  # the same payout again, then the new money
    payouts = payouts_of(router, principal.merchant_id)
    assert [(p[0] == payout_id, p[1], p[2]) for p in payouts] == [(True, "sent", NET), (False, "sent", NET)]
    assert transferred(fake, account) == [NET, NET] and available(router, principal.merchant_id) == 0
    assert_ledger_holds_what_is_payable(router)

    assert run_payouts(stripe_app, tmp_path).exit_code == 0 and transferred(fake, account) == [NET, NET]


@pytest.mark.parametrize("status, message", [
    (409, "There is currently another in-progress request using this Idempotent Key (that probably means you "
          "submitted twice, and the other request is still going through): please try again later."),
    (400, "Keys for idempotent requests can only be used with the same parameters they were first used with."),
])
def test_a_transfer_stripe_holds_under_another_request_of_its_key_is_never_taken_for_a_refusal(
        stripe_app, tmp_path, status, message):
    """Stripe's idempotency_error means the key's first request is in flight or was made: it may
    have paid, so the payout stays sending (retried under its id) and nothing is given back."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth)
    payable_order(router, principal.merchant_id)
    fake.refuse("transfers", status, "idempotency_error", message)

    assert run_payouts(stripe_app, tmp_path).exit_code == 1
    [(payout_id, state, _)] = payouts_of(router, principal.merchant_id)
    assert state == "sending" and available(router, principal.merchant_id) == 0
    assert run_payouts(stripe_app, tmp_path).exit_code == 0
    assert payouts_of(router, principal.merchant_id) == [(payout_id, "sent", NET)] and transferred(fake, account) == [NET]
    assert_ledger_holds_what_is_payable(router)


def test_a_payout_resent_after_stripe_forgot_its_key_finds_the_transfer_already_made(stripe_app, tmp_path):
    """The transfer went through but its answer was lost, and the next run came more than 24 hours
    later, when Stripe no longer knows the key: the merchant is paid once."""
    platform, client, fake = stripe_app.extensions["cpu"], stripe_app.test_client(), stripe_app.stripe_server.fake
    router = platform.router
    principal, auth = merchant(router, "Fort Rhum", "MQ")
    account = onboard(client, auth)
    payable_order(router, principal.merchant_id)
    fake.lose_answer("transfers")

    ran = run_payouts(stripe_app, tmp_path)
    assert ran.exit_code == 1 and "the next run retries it" in ran.output, ran.output
    [(payout_id, state, _)] = payouts_of(router, principal.merchant_id)
    assert state == "sending" and transferred(fake, account) == [NET]  # paid at Stripe, not known here

    fake.forget_keys()
    again = run_payouts(stripe_app, tmp_path)
    assert again.exit_code == 0, again.output
    assert payouts_of(router, principal.merchant_id) == [(payout_id, "sent", NET)]
    assert transferred(fake, account) == [NET] and paid_out(client, auth) == NET
    assert_ledger_holds_what_is_payable(router)


class Stopped(BaseException):
    """The payout process dying at a given point (not an error any code here catches)."""


def stop(*_args):
    raise Stopped()


def bank_payable_order(router, merchant_id: str) -> None:
    with router.unit_of_work("fdf") as uow:
        order = order_of(uow.session, merchant_id, goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method="cash_on_delivery", provider="offline")
        service.received(uow.session, order=order, amount=order.total_amount, paid=None)
        service.release(uow.session, order_id=order.id, merchant_id=merchant_id, why="delivered")
        uow.commit()


def lines_of(path) -> list[str]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as rows:
        return [row["payout_id"] for row in csv.DictReader(rows)]


@pytest.mark.parametrize("stopped", ["after its line was written", "before its line was written"])
def test_a_bank_payout_a_stopped_run_left_sending_is_in_one_file_once(stripe_app, tmp_path, monkeypatch, stopped):
    platform = stripe_app.extensions["cpu"]
    router = platform.router
    principal, _ = merchant(router, "Fort Rhum", "MQ")
    bank_payable_order(router, principal.merchant_id)
    first, second = tmp_path / "monday.csv", tmp_path / "tuesday.csv"
    written = payouts._append

    def dies(path, line):
        if stopped == "after its line was written":
            written(path, line)
        stop()

    with monkeypatch.context() as run:
        run.setattr(payouts, "_append", dies)
        with pytest.raises(Stopped):
            payouts.run(router, "fdf", platform.payments.payouts, bank_file=first)
    [(payout_id, state, _)] = payouts_of(router, principal.merchant_id)
    assert state == "sending"

    payouts.run(router, "fdf", platform.payments.payouts, bank_file=second)
    assert payouts_of(router, principal.merchant_id) == [(payout_id, "sent", NET)]
    assert lines_of(first) + lines_of(second) == [payout_id]  # in one file, once
    assert available(router, principal.merchant_id) == 0
    assert_ledger_holds_what_is_payable(router)


def test_a_bank_payout_whose_file_is_gone_stays_sending_and_is_reported(stripe_app, tmp_path, monkeypatch):
    platform = stripe_app.extensions["cpu"]
    router = platform.router
    principal, _ = merchant(router, "Fort Rhum", "MQ")
    bank_payable_order(router, principal.merchant_id)
    first = tmp_path / "monday.csv"
    with monkeypatch.context() as run:
        run.setattr(payouts, "_append", stop)
        with pytest.raises(Stopped):
            payouts.run(router, "fdf", platform.payments.payouts, bank_file=first)
    first.rename(tmp_path / "uploaded-to-the-bank.csv")  # the operator took the file away

    [made] = payouts.run(router, "fdf", platform.payments.payouts, bank_file=tmp_path / "tuesday.csv")
    assert made.failed and "monday.csv" in made.failure and "ask the bank" in made.failure
    assert [state for _, state, _ in payouts_of(router, principal.merchant_id)] == ["sending"]
    assert lines_of(tmp_path / "tuesday.csv") == []


def test_a_bank_payout_another_run_took_on_meanwhile_is_left_to_it(stripe_app, tmp_path, monkeypatch):
    """Two runs at once retry the same stopped payout: the one that records its file first writes
    the line; the other, holding what it read before, writes nothing."""
    platform = stripe_app.extensions["cpu"]
    router = platform.router
    principal, _ = merchant(router, "Fort Rhum", "MQ")
    bank_payable_order(router, principal.merchant_id)
    with monkeypatch.context() as run:
        run.setattr(payouts, "_append", stop)
        with pytest.raises(Stopped):
            payouts.run(router, "fdf", platform.payments.payouts, bank_file=tmp_path / "monday.csv")
    [(payout_id, _, _)] = payouts_of(router, principal.merchant_id)
    with router.unit_of_work("fdf", read_only=True) as uow:
        read_by_the_slower_run = uow.session.get(Payout, payout_id)
        line = payouts.file_line(uow.session, read_by_the_slower_run)
    payouts.run(router, "fdf", platform.payments.payouts, bank_file=tmp_path / "tuesday.csv")  # the faster run

    with pytest.raises(payouts.NotWritten, match="another payout run"):
        payouts._write_line(router, "fdf", read_by_the_slower_run, line, tmp_path / "tuesday-2.csv")
    assert lines_of(tmp_path / "monday.csv") + lines_of(tmp_path / "tuesday.csv") == [payout_id]
    assert lines_of(tmp_path / "tuesday-2.csv") == []
