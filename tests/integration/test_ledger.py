"""The ledger under any sequence of money events (hypothesis), and its amount edge cases:
currencies of 0, 2 and 3 minor units, a refund beyond what remains, a unit split three ways.
Every example runs in one region's transaction that is rolled back (nothing is committed)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from marketplace.errors import InvalidInput
from marketplace.orders.models import MerchantOrder
from marketplace.regions.ids import new_id
from payments import payouts, service
from payments.ledger import Entry, Unbalanced, balances, post, split
from payments.models import LedgerEntry, LedgerPosting

MERCHANTS = ("mer_A", "mer_B", "mer_C")


def order_of(session, merchant_id: str, *, currency: str = "EUR", goods: int = 10_000, shipping: int = 1_500,
             duties: int = 0) -> MerchantOrder:
    order = MerchantOrder(id=new_id("ord"), region=session.info["database"], merchant_id=merchant_id,
                          checkout_id=new_id("chk"), buyer_region="kin", state="paid", currency=currency,
                          goods_amount=goods, shipping_amount=shipping, total_amount=goods + shipping + duties, lines=[],
                          ship_to={"country": "JM"})
    session.add(order)
    session.flush()
    return order


def unbalanced_postings(session) -> list:
    return session.execute(select(LedgerEntry.posting_id, LedgerEntry.currency).group_by(
        LedgerEntry.posting_id, LedgerEntry.currency).having(func.sum(LedgerEntry.amount) != 0)).all()


def totals(session) -> dict[str, int]:
    return defaultdict(int, {account: total for (account, _), total in balances(session).items()})


step = st.one_of(
    st.tuples(st.just("checkout"), st.sampled_from(MERCHANTS), st.integers(1, 500_000), st.integers(0, 9_000),
              st.integers(0, 5_000), st.booleans()),
    st.tuples(st.just("deliver"), st.integers(0, 30)),
    st.tuples(st.just("refund"), st.integers(0, 30), st.integers(1, 600_000)),
    st.tuples(st.just("payout"), st.sampled_from(MERCHANTS)),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_any_sequence_of_money_events_balances_and_holds_exactly_the_merchants_payables(router, steps):
    with router.unit_of_work("kin") as uow:
        session = uow.session
        orders, paid_in, refunded, paid_out = [], 0, 0, 0
        for kind, *args in steps:
            if kind == "checkout":
                merchant_id, goods, shipping, duties, cod = args
                order = order_of(session, merchant_id, goods=goods, shipping=shipping, duties=duties)
                service.capture(session, order=order, paid=None, method="cash_on_delivery" if cod else "card",
                                provider="offline" if cod else "stand_in_card")
                orders.append((order, cod))
                paid_in += 0 if cod else order.total_amount
            elif kind == "deliver" and orders:
                order, cod = orders[args[0] % len(orders)]
                owed = balances(session, LedgerEntry.order_id == order.id).get(("buyer_clearing", "EUR"), 0)
                if cod and owed > 0:  # the postman collects what the buyer still owes
                    service.received(session, order=order, amount=owed, paid=None)
                    paid_in += owed
                service.release(session, order_id=order.id, merchant_id=order.merchant_id, why="delivered")
            elif kind == "refund" and orders:
                order, _ = orders[args[0] % len(orders)]
                left = sum(service.remaining(session, order.id))
                if args[1] > left:
                    with pytest.raises(InvalidInput, match="more than"):
                        service.refund(session, order=order, amount=args[1])
                else:
                    service.refund(session, order=order, amount=args[1])
                    refunded += args[1]
                assert sum(service.remaining(session, order.id)) == left - (args[1] if args[1] <= left else 0)
            elif kind == "payout":
                paid_out += sum(p.amount for p in payouts.pay_out(session, merchant_id=args[0], currency="EUR",
                                                                  provider_name="offline"))
            assert unbalanced_postings(session) == []
            t = totals(session)
            payables = -(t["merchant_held"] + t["merchant_available"])
            # what we hold for merchants: the money in, less what went back out, less what is
            # the marketplace's own (fee) or customs' (duties); what COD buyers still owe counts
            held_for_merchants = t["funds_held"] + t["buyer_clearing"] + t["fee_revenue"] + t["customs_collected"]
            assert payables == held_for_merchants
            for merchant_id in MERCHANTS:
                mine = balances(session, LedgerEntry.merchant_id == merchant_id)
                assert -mine.get(("merchant_held", "EUR"), 0) >= 0 and -mine.get(("merchant_available", "EUR"), 0) >= 0
        t = totals(session)
        reversals = -sum(e.amount for p in session.scalars(select(LedgerPosting).where(LedgerPosting.kind == "reversal"))
                         for e in p.entries if e.account == "merchant_available")
        assert t["funds_held"] == paid_in - (refunded - _cod_refunds_before_cash(session)) - paid_out + reversals


def _cod_refunds_before_cash(session) -> int:
    """Refunds of cash-on-delivery orders made before the cash came: they cancel what the
    buyer owed (buyer_clearing), not money we held."""
    return -sum(e.amount for e in session.scalars(select(LedgerEntry).join(LedgerPosting).where(
        LedgerPosting.kind == "refund", LedgerEntry.account == "buyer_clearing")))


def test_a_posting_that_does_not_balance_is_refused(router):
    with router.unit_of_work("kin") as uow:
        with pytest.raises(Unbalanced):
            post(uow.session, key="bad", kind="correction", entries=[Entry("funds_held", 100, "EUR"),
                                                                     Entry("fee_revenue", -99, "EUR")])
        with pytest.raises(Unbalanced):  # balanced in sum, not per currency
            post(uow.session, key="bad", kind="correction", entries=[Entry("funds_held", 100, "EUR"),
                                                                     Entry("fee_revenue", -100, "USD")])
        assert uow.session.scalar(select(func.count()).select_from(LedgerPosting)) == 0


def test_a_redelivered_event_posts_once(router):
    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A")
        for _ in range(3):
            service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        assert uow.session.scalar(select(func.count()).select_from(LedgerPosting)) == 2  # capture + payment


@pytest.mark.parametrize("currency, goods, shipping", [("JPY", 12_345, 800), ("EUR", 12_345, 800), ("KWD", 12_345, 800)])
def test_minor_units_of_0_2_and_3_decimals_refund_to_the_last_unit(router, currency, goods, shipping):
    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", currency=currency, goods=goods, shipping=shipping, duties=7)
        service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        assert service.fee_for(goods) == 988  # 8 % of 12,345 = 987.6, half up, in any currency's minor units
        for part in (1, 1_000, order.total_amount - 1_001):
            service.refund(uow.session, order=order, amount=part)
        assert service.remaining(uow.session, order.id) == (0, 0, 0)
        left = balances(uow.session, LedgerEntry.order_id == order.id)
        assert all(total == 0 for (account, _), total in left.items() if account != "funds_held")
        assert left[("funds_held", currency)] == 0


def test_a_refund_larger_than_what_remains_is_refused_and_changes_nothing(router):
    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", goods=10_000, shipping=1_500)
        service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        service.refund(uow.session, order=order, amount=11_000)
        before = balances(uow.session)
        with pytest.raises(InvalidInput) as refused:
            service.refund(uow.session, order=order, amount=501)
        assert "more than the 5.00 that remains" in refused.value.detail and "amount" in refused.value.errors
        assert balances(uow.session) == before


def test_one_minor_unit_split_over_three_merchants_loses_and_invents_nothing():
    assert split(1, [1, 1, 1]) == [1, 0, 0]
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    assert split(2, [333, 333, 334]) == [1, 0, 1]  # remainders 666, 666, 668: the largest, then the first tie
    for amount in (1, 2, 7, 101, 99_999):
        assert sum(split(amount, [3, 5, 11])) == amount


def test_three_merchants_fees_round_per_order_and_the_refund_of_a_unit_goes_to_one_part(router):
    with router.unit_of_work("kin") as uow:
        orders = [order_of(uow.session, merchant, goods=1_001, shipping=0) for merchant in MERCHANTS]
        for order in orders:
            service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        t = totals(uow.session)
        assert t["fee_revenue"] == -3 * 80 and t["funds_held"] == 3 * 1_001  # 80.08 each, rounded once per order
        service.refund(uow.session, order=orders[0], amount=1)
        assert service.remaining(uow.session, orders[0].id) == (920, 80, 0)  # the unit came out of the merchant's net
        assert unbalanced_postings(uow.session) == []


def test_a_refund_after_payout_reverses_the_transfer(router):
    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        service.release(uow.session, order_id=order.id, merchant_id="mer_A", why="delivered")
        [payout] = payouts.pay_out(uow.session, merchant_id="mer_A", currency="EUR", provider_name="offline")
        assert payout.amount == 9_200 and payout.rail == "bank_transfer"
        service.refund(uow.session, order=order, amount=5_000)
        kinds = [p.kind for p in uow.session.scalars(select(LedgerPosting).order_by(LedgerPosting.id))]
        assert kinds == ["capture", "payment", "release", "payout", "reversal", "refund"]
        mine = balances(uow.session, LedgerEntry.merchant_id == "mer_A")
        assert mine[("merchant_available", "EUR")] == 0 and service.remaining(uow.session, order.id) == (4_600, 400, 0)


def test_escrow_ends_by_itself_n_days_after_shipment_when_no_delivery_event_came(router):
    from datetime import timedelta

    from marketplace.orders.models import OrderTransition
    from marketplace.regions.base import database_now

    with router.unit_of_work("kin") as uow:
        now = database_now(uow.session)
        long_ago, lately = order_of(uow.session, "mer_A"), order_of(uow.session, "mer_B")
        for order, days in ((long_ago, 15), (lately, 13)):
            service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
            uow.session.add(OrderTransition(order_id=order.id, region="kin", from_state="in_fulfilment", to_state="shipped",
                                            actor="merchant:stf_x", at=now - timedelta(days=days)))
        uow.commit()
    assert service.release_due(router, "kin") == 1
    assert service.release_due(router, "kin") == 0  # released once
    with router.unit_of_work("kin", read_only=True) as uow:
        assert balances(uow.session, LedgerEntry.order_id == long_ago.id)[("merchant_held", "EUR")] == 0
        assert balances(uow.session, LedgerEntry.order_id == lately.id)[("merchant_held", "EUR")] == -10_700


def test_orders_still_waiting_for_their_money_do_not_stall_the_release_of_the_others(router):
    """A batch's worth of invoices on long terms, shipped long ago, must not come back first in
    every pass and keep a paid order behind them held for ever; and a tracking event an
    operator dated in the future does not hold an order once its days are up."""
    from datetime import timedelta

    from logistics.models import Shipment, TrackingEvent
    from marketplace.orders.models import OrderTransition
    from marketplace.regions.base import database_now

    with router.unit_of_work("kin") as uow:
        now = database_now(uow.session)
        unpaid = [order_of(uow.session, "mer_A") for _ in range(3)]
        paid = order_of(uow.session, "mer_B")
        for order in [*unpaid, paid]:
            service.capture(uow.session, order=order, paid=None, method="invoice" if order in unpaid else "card",
                            provider="offline" if order in unpaid else "stand_in_card")
            uow.session.add(OrderTransition(order_id=order.id, region="kin", from_state="in_fulfilment", to_state="shipped",
                                            actor="handover:merchant:stf_x", at=now - timedelta(days=20)))
        parcel = Shipment(id=new_id("shp"), region="kin", merchant_id="mer_B", order_id=paid.id, kind="outbound",
                          tracking_number="CP100000099JM", service="registered", weight_g=500, sender={}, addressee={},
                          state="in_transit", created_at=now - timedelta(days=21))
        uow.session.add(parcel)
        uow.session.add(TrackingEvent(region="kin", operator="jm", event_id="e-future", tracking_number=parcel.tracking_number,
                                      shipment_id=parcel.id, code="EMC", occurred_at=now + timedelta(days=365), office="JMKINA"))
        uow.commit()
    assert service.release_due(router, "kin", batch=2) == 1
    with router.unit_of_work("kin", read_only=True) as uow:
        assert balances(uow.session, LedgerEntry.order_id == paid.id)[("merchant_held", "EUR")] == 0


def test_escrow_counts_its_days_from_the_last_delivery_attempt_not_from_the_shipment(router):
    """Shipped 20 days ago, but the post tried to deliver 5 days ago: still held. Shipped 20
    days ago, last tried 15 days ago: released. A return parcel's events do not count."""
    from datetime import timedelta

    from logistics.models import Shipment, TrackingEvent
    from marketplace.orders.models import OrderTransition
    from marketplace.regions.base import database_now

    with router.unit_of_work("kin") as uow:
        now = database_now(uow.session)
        trying, given_up = order_of(uow.session, "mer_A"), order_of(uow.session, "mer_B")
        for n, (order, last_attempt) in enumerate(((trying, 5), (given_up, 15))):
            service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
            uow.session.add(OrderTransition(order_id=order.id, region="kin", from_state="in_fulfilment", to_state="shipped",
                                            actor="handover:merchant:stf_x", at=now - timedelta(days=20)))
            for kind, days, serial in (("outbound", last_attempt, f"{n}1"), ("return", 1, f"{n}2")):
                parcel = Shipment(id=new_id("shp"), region="kin", merchant_id=order.merchant_id, order_id=order.id,
                                  kind=kind, tracking_number=f"CP1000000{serial}JM", service="registered", weight_g=500,
                                  sender={}, addressee={}, state="attempt_failed", created_at=now - timedelta(days=21))
                uow.session.add(parcel)
                uow.session.add(TrackingEvent(region="kin", operator="jm", event_id=f"e-{serial}",
                                              tracking_number=parcel.tracking_number, shipment_id=parcel.id, code="EMH",
                                              occurred_at=now - timedelta(days=days), office="JMKINA"))
        uow.commit()
    assert service.release_due(router, "kin") == 1
    with router.unit_of_work("kin", read_only=True) as uow:
        assert balances(uow.session, LedgerEntry.order_id == trying.id)[("merchant_held", "EUR")] == -10_700
        assert balances(uow.session, LedgerEntry.order_id == given_up.id)[("merchant_held", "EUR")] == 0


def test_a_cash_on_delivery_order_refunded_before_the_cash_came_asks_the_provider_for_nothing(router):
    from marketplace.regions.models import OutboxEvent

    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method="cash_on_delivery", provider="offline")
        refund = service.refund(uow.session, order=order, amount=10_000)
        assert (refund.state, refund.provider_reference) == ("refunded", "not collected")
        uow.session.flush()
        topics = uow.session.scalars(select(OutboxEvent.topic)).all()
        assert "payments.refund.requested" not in topics
        assert all(total == 0 for total in balances(uow.session, LedgerEntry.order_id == order.id).values())


@pytest.mark.parametrize("method", ["invoice", "cash_on_delivery"])
def test_escrow_never_releases_a_share_whose_money_is_not_in(router, method):
    """Delivered, but the invoice is unpaid or the cash not reported: nothing becomes
    available, so no payout can pay the merchant money the marketplace never had."""
    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method=method, provider="offline")
        assert service.release(uow.session, order_id=order.id, merchant_id="mer_A", why="delivered") == 0
        assert payouts.pay_out(uow.session, merchant_id="mer_A", currency="EUR", provider_name="offline") == []
        service.received(uow.session, order=order, amount=order.total_amount, paid=None)  # the money came
        assert service.release(uow.session, order_id=order.id, merchant_id="mer_A", why="delivered") == 9_200


def test_cash_on_delivery_books_what_is_owed_never_more_and_holds_escrow_when_short(router):
    """The operator's figure is taken up to what the buyer owes; a shortfall is booked as it
    came, kept in the posting's memo, and escrow stays held: no payout of cash never collected."""
    with router.unit_of_work("kin") as uow:
        over, short = order_of(uow.session, "mer_A", goods=10_000, shipping=0), order_of(uow.session, "mer_B", goods=10_000, shipping=0)
        for order in (over, short):
            service.capture(uow.session, order=order, paid=None, method="cash_on_delivery", provider="offline")
        assert service.cash_due(uow.session, over) == {"amount_minor": 10_000, "currency": "EUR"}

        assert service.cash_collected(uow.session, order=over, cash={"amount_minor": 12_000, "currency": "EUR"}) == 0
        assert balances(uow.session, LedgerEntry.order_id == over.id)[("funds_held", "EUR")] == 10_000
        assert service.release(uow.session, order_id=over.id, merchant_id="mer_A", why="delivered") == 9_200
        assert service.cash_due(uow.session, over) is None

        assert service.cash_collected(uow.session, order=short, cash={"amount_minor": 7_000, "currency": "EUR"}) == 3_000
        payment = uow.session.scalars(select(LedgerPosting).where(LedgerPosting.key == f"payment:{short.id}")).one()
        assert "30.00 EUR short" in payment.memo
        assert service.release(uow.session, order_id=short.id, merchant_id="mer_B", why="delivered") == 0
        assert payouts.pay_out(uow.session, merchant_id="mer_B", currency="EUR", provider_name="offline") == []
        assert service.cash_due(uow.session, short) == {"amount_minor": 3_000, "currency": "EUR"}
        assert service.cash_collected(uow.session, order=order_of(uow.session, "mer_C"), cash={
            "amount_minor": 1, "currency": "EUR"}) == 0  # not a cash-on-delivery order: it owes nothing


def test_two_payout_runs_at_once_pay_a_balance_once(router, backend):
    if backend != "postgres":
        pytest.skip("SQLite takes one writer at a time: the race between payout runs is PostgreSQL's")
    import threading

    with router.unit_of_work("kin") as uow:
        order = order_of(uow.session, "mer_A", goods=10_000, shipping=0)
        service.capture(uow.session, order=order, paid=None, method="card", provider="stand_in_card")
        service.release(uow.session, order_id=order.id, merchant_id="mer_A", why="delivered")
        uow.commit()
    barrier, paid = threading.Barrier(2), []

    def run():
        with router.unit_of_work("kin") as uow:
            barrier.wait()
            made = payouts.pay_out(uow.session, merchant_id="mer_A", currency="EUR", provider_name="offline")
            uow.commit()
        paid.append(sum(p.amount for p in made))

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=30)
    assert sorted(paid) == [0, 9_200]


def test_an_order_confirmed_without_its_provider_is_refunded_offline_only_when_its_method_says_so(router):
    """An orders.confirm from a buyer's region still on older code names no provider: an offline
    method's refund is the offline provider's; a card's is refused by name, never guessed."""
    from payments.gateways import PaymentProviders, ProviderError

    providers = PaymentProviders(card=None)
    with router.unit_of_work("kin") as uow:
        by_bank, by_card = (order_of(uow.session, "mer_A"), order_of(uow.session, "mer_B"))
        service.capture(uow.session, order=by_bank, paid=None, method="bank_transfer", provider=None)
        service.capture(uow.session, order=by_card, paid=None, method="card", provider=None)
        assert providers.named(by_bank.payment_provider).name == "offline"
        with pytest.raises(ProviderError, match="not recorded") as refused:
            providers.named(by_card.payment_provider)
        assert not refused.value.retryable
