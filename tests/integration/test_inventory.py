"""Stock that cannot oversell: reservations all or none, sold once, released once, expired by
the database's clock; a merchant's count and the checkouts never undo each other. On SQLite
and PostgreSQL (the races too: SQLite must be as right as PostgreSQL, only slower)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.catalog import service as catalog
from marketplace.catalog.models import Product
from marketplace.catalog.schemas import ProductSchema
from marketplace.errors import RegionUnavailable
from marketplace.inventory import service as inventory
from marketplace.inventory.errors import (
    BelowReserved, OutOfStock, ReservationMismatch, ReservationSettled, StaleStock,
)
from marketplace.inventory.models import Reservation, StockLevel
from marketplace.merchants import accounts
from marketplace.regions.base import database_now
from tests.api.test_merchant_api import product_body

HOLD = timedelta(minutes=15)


@pytest.fixture
def shop(router):
    """A Kingston merchant with one product: BM-1KG (KGN 60) and BM-250 (KGN 5, MBJ 3)."""
    owner = accounts.sign_up(router=router, trading_name="Stock Roasters", legal_name="Stock Roasters Ltd",
                             home_country="JM", email="owner@stock.example", password="correct horse battery",
                             handle="stock-roasters")
    body = product_body()
    body["variants"][0]["stock"] = {"KGN": 5, "MBJ": 3}
    product = catalog.create_product(router=router, principal=owner, data=ProductSchema().load(body))
    by_sku = {v.sku: v.id for v in product.variants}
    return owner, product.id, by_sku["BM-250"], by_sku["BM-1KG"]


def levels(router, variant_id):
    with router.unit_of_work("kin", read_only=True) as uow:
        rows = uow.session.scalars(select(StockLevel).where(StockLevel.variant_id == variant_id)).all()
        return {r.location: (r.on_hand, r.reserved) for r in rows}


def reserve(router, reservation_id, lines, merchant_id, expires_in=HOLD):
    with router.unit_of_work("kin") as uow:
        held = inventory.reserve(uow.session, reservation_id=reservation_id, merchant_id=merchant_id,
                                 lines=lines, expires_in=expires_in)
        uow.commit()
        return held.status


def settle(router, action, reservation_id):
    with router.unit_of_work("kin") as uow:
        found = action(uow.session, reservation_id=reservation_id)
        uow.commit()
        return found.status if found is not None else None


def product_revision(router, product_id):
    with router.unit_of_work("kin", read_only=True) as uow:
        return uow.session.get(Product, product_id).revision


def test_a_reservation_is_split_over_locations_and_sold_exactly_once(router, shop):
    owner, product_id, small, _ = shop
    assert reserve(router, "ord-1", [(small, 6)], owner.merchant_id) == "held"
    assert levels(router, small) == {"KGN": (5, 5), "MBJ": (3, 1)}
    assert reserve(router, "ord-1", [(small, 6)], owner.merchant_id) == "held"  # a retry holds nothing more
    assert levels(router, small) == {"KGN": (5, 5), "MBJ": (3, 1)}
    with pytest.raises(ReservationMismatch):
        reserve(router, "ord-1", [(small, 2)], owner.merchant_id)

    before = product_revision(router, product_id)
    assert settle(router, inventory.commit, "ord-1") == "committed"
    assert settle(router, inventory.commit, "ord-1") == "committed"  # a retried commit sells nothing more
    assert levels(router, small) == {"KGN": (0, 0), "MBJ": (2, 0)}
    assert product_revision(router, product_id) == before + 1  # a product PUT read before the sale is stale now
    with pytest.raises(ReservationSettled):
        settle(router, inventory.release, "ord-1")
    assert reserve(router, "ord-1", [(small, 6)], owner.merchant_id) == "committed"  # and a late retry learns so


def test_a_released_reservation_gives_its_units_back_once(router, shop):
    owner, _, small, large = shop
    reserve(router, "ord-2", [(small, 4), (large, 12)], owner.merchant_id)
    assert settle(router, inventory.release, "ord-2") == "released"
    assert settle(router, inventory.release, "ord-2") == "released"
    assert levels(router, small) == {"KGN": (5, 0), "MBJ": (3, 0)} and levels(router, large) == {"KGN": (60, 0)}
    assert settle(router, inventory.release, "never-reserved") is None  # a compensation of a reserve that never happened
    with pytest.raises(ReservationSettled):
        settle(router, inventory.commit, "ord-2")


def test_a_short_line_reserves_nothing_says_how_many_there_are_and_leaves_the_callers_work(router, shop):
    owner, _, small, large = shop
    reserve(router, "ord-3", [(small, 7)], owner.merchant_id)
    with router.unit_of_work("kin") as uow:
        with pytest.raises(OutOfStock) as refused:
            inventory.reserve(uow.session, reservation_id="ord-4", merchant_id=owner.merchant_id,
                              lines=[(large, 12), (small, 2)], expires_in=HOLD)
        uow.session.execute(update(StockLevel).where(StockLevel.variant_id == large).values(updated_at=database_now(uow.session)))
        uow.commit()  # the caller records its refusal in the same transaction: the savepoint kept it possible
    assert [(s.line, s.variant_id, s.requested, s.available) for s in refused.value.shortages] == [(1, small, 2, 1)]
    assert refused.value.errors == {"lines.1": ["1 available"]}
    assert levels(router, large) == {"KGN": (60, 0)}  # the line that could be met was not held either
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.get(Reservation, "ord-4") is None
    assert reserve(router, "ord-4", [(small, 1)], owner.merchant_id) == "held"  # the id is free for a retry


def test_reservations_past_their_time_are_released_by_the_sweep_on_the_database_clock(app, router, shop):
    owner, _, small, _ = shop
    reserve(router, "ord-5", [(small, 5)], owner.merchant_id)
    reserve(router, "ord-6", [(small, 2)], owner.merchant_id)
    with router.unit_of_work("kin") as uow:  # ord-5's checkout was abandoned a second ago
        past = database_now(uow.session) - timedelta(seconds=1)
        uow.session.execute(update(Reservation).where(Reservation.id == "ord-5").values(expires_at=past))
        uow.commit()
    with pytest.raises(ReservationSettled) as late:
        settle(router, inventory.commit, "ord-5")
    assert late.value.reservation_status == "expired"

    result = app.test_cli_runner().invoke(args=["cpu", "inventory", "sweep", "--region", "kin"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "kin 1 expired reservation(s) released"
    assert levels(router, small) == {"KGN": (5, 0), "MBJ": (3, 2)}  # ord-6 still holds its 2 (from MBJ: KGN was held)
    assert inventory.sweep(router, "kin") == 0
    assert settle(router, inventory.release, "ord-5") == "expired"


def test_the_relays_chores_sweep_expired_reservations(platform, router, shop):
    owner, _, small, _ = shop
    reserve(router, "ord-7", [(small, 3)], owner.merchant_id, expires_in=timedelta(seconds=-1))
    platform.relay().run_chores("kin")
    assert levels(router, small) == {"KGN": (5, 0), "MBJ": (3, 0)}


def test_a_count_never_goes_below_what_checkouts_hold_and_a_stale_count_is_refused(router, shop):
    owner, product_id, small, _ = shop
    reserve(router, "ord-8", [(small, 4)], owner.merchant_id)
    with pytest.raises(BelowReserved) as below:
        inventory.set_on_hand(router=router, principal=owner, variant_id=small, location="KGN", on_hand=3)
    assert below.value.reserved == 4
    read = {level.location: level.revision for level in inventory.stock_of(router=router, principal=owner, variant_id=small)}
    settle(router, inventory.commit, "ord-8")  # a sale comes between the merchant's read and count
    with pytest.raises(StaleStock):
        inventory.set_on_hand(router=router, principal=owner, variant_id=small, location="KGN", on_hand=9,
                              expected_revision=read["KGN"])
    assert levels(router, small)["KGN"] == (1, 0)  # the sale stands
    counted = inventory.set_on_hand(router=router, principal=owner, variant_id=small, location="KGN", on_hand=9,
                                    expected_revision=read["KGN"] + 1)
    assert (counted.on_hand, counted.revision) == (9, read["KGN"] + 2)


def test_a_product_edit_keeps_reservations_and_its_counts_are_the_rows(router, shop):
    owner, product_id, small, _ = shop
    reserve(router, "ord-9", [(small, 2)], owner.merchant_id)
    body = product_body(title={"en": "Renamed"})
    body["variants"][0]["stock"] = {"KGN": 10, "MBJ": 3}
    product = catalog.replace_product(router=router, principal=owner, product_id=product_id, data=ProductSchema().load(body))
    assert {v.sku: v.stock for v in product.variants} == {"BM-1KG": {"KGN": 60}, "BM-250": {"KGN": 10, "MBJ": 3}}
    assert levels(router, small) == {"KGN": (10, 2), "MBJ": (3, 0)}
    body["variants"][0]["stock"] = {"MBJ": 3}  # taking KGN away while checkouts hold units there
    with pytest.raises(BelowReserved):
        catalog.replace_product(router=router, principal=owner, product_id=product_id, data=ProductSchema().load(body))
    assert levels(router, small) == {"KGN": (10, 2), "MBJ": (3, 0)}


def _race(n_threads, work):
    """Run work(thread_number) on n threads started together; their results."""
    barrier, results = threading.Barrier(n_threads), [None] * n_threads

    def run(n):
        barrier.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _try_reserve(router, reservation_id, lines, merchant_id):
    """'held' or 'short'; a full bulkhead (503) is retried, as a client would."""
    for _ in range(50):
        try:
            reserve(router, reservation_id, lines, merchant_id)
            return "held"
        except OutOfStock:
            return "short"
        except RegionUnavailable:
            continue
    raise AssertionError("the region stayed busy")


def test_buyers_racing_for_the_last_units_get_exactly_them(router, shop):
    owner, _, small, large = shop  # 8 units of BM-250 over two locations
    outcomes = _race(8, lambda n: [_try_reserve(router, f"race-{n}-{k}", [(small, 1)], owner.merchant_id) for k in range(3)])
    flat = [o for row in outcomes for o in row]
    assert flat.count("held") == 8 and flat.count("short") == 16
    assert levels(router, small) == {"KGN": (5, 5), "MBJ": (3, 3)}
    # and selling them all takes each unit off once
    for n, row in enumerate(outcomes):
        for k, outcome in enumerate(row):
            if outcome == "held":
                settle(router, inventory.commit, f"race-{n}-{k}")
    assert levels(router, small) == {"KGN": (0, 0), "MBJ": (0, 0)}


def test_a_count_racing_reservations_loses_neither(router, shop):
    owner, _, _, large = shop  # BM-1KG: 60 at KGN

    def work(n):
        if n == 0:  # the merchant recounts the shelf again and again while checkouts reserve
            for units in range(100, 110):
                for _ in range(50):
                    try:
                        inventory.set_on_hand(router=router, principal=owner, variant_id=large, location="KGN", on_hand=units)
                        break
                    except RegionUnavailable:
                        continue
            return []
        return [_try_reserve(router, f"count-{n}-{k}", [(large, 1)], owner.merchant_id) for k in range(10)]

    outcomes = [o for row in _race(6, work) for o in row]
    assert outcomes.count("held") == 50
    assert levels(router, large) == {"KGN": (109, 50)}  # the last count stands, and every reservation with it


def test_reserving_the_last_units_takes_the_product_out_of_stock_for_search_and_releasing_brings_it_back(router, shop):
    from marketplace.merchants.models import Merchant
    from marketplace.regions.models import OutboxEvent
    from search.documents import from_catalog

    owner, product_id, small, large = shop

    def document_and_events():
        with router.unit_of_work("kin", read_only=True) as uow:
            product = uow.session.get(Product, product_id)
            document = from_catalog(product, uow.session.get(Merchant, owner.merchant_id))
            events = uow.session.scalars(select(OutboxEvent.id).where(OutboxEvent.topic == "catalog.product.changed")).all()
            return document, len(events)

    before, announced = document_and_events()
    assert before.in_stock
    reserve(router, "ord-s1", [(small, 8), (large, 60)], owner.merchant_id)
    after, announced_after = document_and_events()
    assert not after.in_stock and after.version > before.version and announced_after == announced + 1
    assert {v.sku: v.in_stock for v in after.variants} == {"BM-1KG": False, "BM-250": False}
    settle(router, inventory.release, "ord-s1")
    back, announced_back = document_and_events()
    assert back.in_stock and back.version > after.version and announced_back == announced_after + 1


def test_product_edits_racing_sales_of_the_same_variant_neither_deadlock_nor_oversell(router, shop):
    from marketplace.catalog.service import ChangedMeanwhile

    owner, product_id, _, large = shop  # BM-1KG: 60 at KGN
    for n in range(20):
        reserve(router, f"sale-{n}", [(large, 1)], owner.merchant_id)

    def work(n):
        if n == 0:  # the merchant renames the product and recounts BM-1KG, five times
            for k in range(5):
                body = product_body(title={"en": f"Renamed {k}"})
                body["variants"][1]["stock"] = {"KGN": 100 + k}
                for _ in range(100):
                    try:
                        catalog.replace_product(router=router, principal=owner, product_id=product_id,
                                                data=ProductSchema().load(body))
                        break
                    except (ChangedMeanwhile, RegionUnavailable):  # a sale bumped the revision meanwhile: again
                        continue
            return "edited"
        for k in range(n - 1, 20, 3):
            for _ in range(50):
                try:
                    settle(router, inventory.commit, f"sale-{k}")
                    break
                except RegionUnavailable:
                    continue
        return "sold"

    assert sorted(_race(4, work)) == ["edited", "sold", "sold", "sold"]
    on_hand, reserved = levels(router, large)["KGN"]
    assert reserved == 0 and 100 - 20 <= on_hand <= 104  # the last count, less the sales that came after it
