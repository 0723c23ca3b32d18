"""Customs remittance runs (payments/customs_remittance.py): the duties and taxes of delivered,
paid orders go to each destination's customs once, one remittance per country and currency,
through `cpu payments remit-customs`; the rest wait, and a refund's part never goes."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from sqlalchemy import select

from logistics.models import Shipment
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments import service
from payments.models import CustomsRemittance
from tests.integration.test_ledger import order_of, totals, unbalanced_postings
from tests.support.shop import open_shop

SERIALS = iter(range(200_000_001, 299_999_999))


def parcel(session, order, *, state: str = "delivered", days_ago: int = 1) -> str:
    now = database_now(session)
    number = f"CP{next(SERIALS)}JM"
    session.add(Shipment(id=new_id("shp"), region=order.region, merchant_id=order.merchant_id, order_id=order.id,
                         kind="outbound", tracking_number=number, service="registered", weight_g=500, sender={},
                         addressee={}, state=state, created_at=now - timedelta(days=days_ago + 2),
                         delivered_at=now - timedelta(days=days_ago) if state == "delivered" else None))
    return number


def paid_order(session, *, country: str, duties: int, method: str = "card", lines=None, **amounts):
    order = order_of(session, "mer_A", currency="JMD", duties=duties, **amounts)
    order.ship_to = {"country": country}
    if lines is not None:
        order.lines = lines
    service.capture(session, order=order, paid=None, method=method,
                    provider="offline" if method == "cash_on_delivery" else "stand_in_card")
    return order


def remit(app, tmp_path, *extra):
    ran = app.test_cli_runner().invoke(args=["cpu", "payments", "remit-customs", "--region", "kin",
                                             "--file", str(tmp_path / "customs.csv"), *extra])
    assert ran.exit_code == 0, ran.output
    return ran.output


def file_lines(tmp_path) -> list[dict]:
    with (tmp_path / "customs.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def remittances(router) -> dict[str, int]:
    with router.unit_of_work("kin", read_only=True) as uow:
        return {r.country: r.amount for r in uow.session.scalars(select(CustomsRemittance))}


def assert_ledger_balanced(router) -> dict[str, int]:
    """Every posting balances; the accounts' totals, to compare across runs."""
    with router.unit_of_work("kin", read_only=True) as uow:
        assert unbalanced_postings(uow.session) == []
        return dict(totals(uow.session))


def test_delivered_orders_are_remitted_once_per_country_and_the_rest_waits(app, client, router, tmp_path):
    shop = open_shop(router, client, "Kingston Roasters", "JM")
    assert shop.region == "kin"
    coffee = [{"variant_id": shop.variant_id, "sku": "JM-250", "name": "coffee", "quantity": 2, "unit_price": 5_000,
               "total": 10_000}]
    with router.unit_of_work("kin") as uow:
        s = uow.session
        kingston = paid_order(s, country="JM", duties=2_345, lines=coffee)
        montego = paid_order(s, country="JM", duties=1_655)
        halved = paid_order(s, country="JM", duties=1_000, goods=10_000, shipping=0)
        bridgetown = paid_order(s, country="BB", duties=3_000)
        refunded = paid_order(s, country="JM", duties=700)
        in_transit = paid_order(s, country="JM", duties=400)
        cash_not_in = paid_order(s, country="BB", duties=900, method="cash_on_delivery")
        numbers = {o.id: parcel(s, o) for o in (kingston, montego, halved, bridgetown, refunded, cash_not_in)}
        parcel(s, in_transit, state="in_transit")
        # half of 11 000 back: of the 1 000 duties, 5 500 x 1 000 / 11 000 = 500 is refunded
        service.refund(s, order=halved, amount=5_500)
        service.refund_rest(s, order=refunded)
        uow.commit()
    before = assert_ledger_balanced(router)

    output = remit(app, tmp_path)

    # JM: 2 345 + 1 655 + (1 000 - 500) = 4 500; BB: 3 000 (the cash-on-delivery order's cash is not in)
    assert remittances(router) == {"JM": 4_500, "BB": 3_000}
    assert "2 remittance(s) of 4 order(s)" in output and "to Jamaica Customs Agency" in output
    assert "JM 4.00 JMD of 1 order(s) waits" in output and "BB 9.00 JMD of 1 order(s) waits" in output
    after = assert_ledger_balanced(router)
    assert after["funds_held"] == before["funds_held"] - 7_500
    assert after["customs_collected"] == -(400 + 900)  # what waits
    lines = {line["order_id"]: line for line in file_lines(tmp_path)}
    assert set(lines) == {kingston.id, montego.id, halved.id, bridgetown.id}
    assert {k: lines[kingston.id][k] for k in ("country", "customs_authority", "s10_numbers", "hs_codes", "duty_minor",
                                               "tax_minor", "currency", "amount_minor")} == {
        "country": "JM", "customs_authority": "Jamaica Customs Agency", "s10_numbers": numbers[kingston.id],
        # Jamaican coffee into Jamaica pays no duty (CARICOM origin): all of it is GCT
        "hs_codes": "090121", "duty_minor": "0", "tax_minor": "2345", "currency": "JMD", "amount_minor": "2345"}
    assert lines[halved.id]["amount_minor"] == "500" and lines[halved.id]["duty_minor"] == ""  # no catalog lines
    assert lines[bridgetown.id]["customs_authority"] == "Barbados Revenue Authority"
    assert len({lines[o.id]["remittance_id"] for o in (kingston, montego, halved)}) == 1

    again = remit(app, tmp_path)
    assert "0 remittance(s) of 0 order(s)" in again
    assert len(file_lines(tmp_path)) == 4 and remittances(router) == {"JM": 4_500, "BB": 3_000}
    assert assert_ledger_balanced(router) == after

    with router.unit_of_work("kin") as uow:  # the last parcel arrives
        arrived = uow.session.scalars(select(Shipment).where(Shipment.order_id == in_transit.id)).one()
        arrived.state, arrived.delivered_at = "delivered", database_now(uow.session)
        uow.commit()
    remit(app, tmp_path)
    assert [line["amount_minor"] for line in file_lines(tmp_path)[4:]] == ["400"]
    assert assert_ledger_balanced(router)["customs_collected"] == -900


def test_until_leaves_orders_delivered_on_or_after_that_day_for_a_later_run(app, router, tmp_path):
    with router.unit_of_work("kin") as uow:
        early, late = paid_order(uow.session, country="JM", duties=1_000), paid_order(uow.session, country="JM", duties=300)
        parcel(uow.session, early, days_ago=10)
        parcel(uow.session, late, days_ago=1)
        day = (database_now(uow.session) - timedelta(days=5)).strftime("%Y-%m-%d")
        uow.commit()
    remit(app, tmp_path, "--until", day)
    assert [line["order_id"] for line in file_lines(tmp_path)] == [early.id]
    listed = app.test_cli_runner().invoke(args=["cpu", "payments", "customs-owed", "--region", "kin"])
    assert "JM JMD: due 3.00 (1 order(s)), waiting 0.00 (0 order(s))" in listed.output, listed.output
    assert_ledger_balanced(router)


def test_two_remittance_runs_at_once_remit_an_order_once(router, backend):
    if backend != "postgres":
        pytest.skip("SQLite takes one writer at a time: the race between remittance runs is PostgreSQL's")
    import threading

    from payments import customs_remittance

    with router.unit_of_work("kin") as uow:
        parcel(uow.session, paid_order(uow.session, country="JM", duties=1_000))
        uow.commit()
    barrier, remitted = threading.Barrier(2), []

    def run():
        with router.unit_of_work("kin") as uow:
            barrier.wait()
            made = customs_remittance.remit(uow.session, country="JM", currency="JMD")
            remitted.append(made.amount if made else 0)
            uow.commit()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=30)
    assert sorted(remitted) == [0, 1_000]
    assert remittances(router) == {"JM": 1_000}
