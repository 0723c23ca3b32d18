"""Threads racing for the last units of one variant on PostgreSQL, against a bare conditional UPDATE.

Why: a flash sale is many checkouts reserving one stock row at once; each waits for the row
lock of the one before. What `inventory.reserve` (a unit of work: the reservation row, the
conditional UPDATE, its lines, the commit) costs over the single statement that decides who
gets a unit should be known, and that the count comes out exact under the race.

Run by hand from the repository root, with PostgreSQL at TEST_POSTGRES_URL (default the local one):

    .venv/bin/python bench/stock.py [--threads 8] [--units 400] [--buyers 600]

It creates seven fresh databases, migrates them, makes one variant with `--units` on hand,
then `--threads` threads reserve one unit each for `--buyers` buyers. It prints
reservations/s and p50/p99 per attempt, checks exactly `--units` were held and none oversold,
then runs the baseline: the same threads and attempts as one autocommitted `UPDATE ... SET
reserved = reserved + 1 WHERE on_hand - reserved >= 1` each on a one-row table of the same server.
The machine is shared: compare the ratio, not the absolutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from marketplace import config  # noqa: E402
from marketplace.catalog import service as catalog  # noqa: E402
from marketplace.catalog.schemas import ProductSchema  # noqa: E402
from marketplace.errors import RegionUnavailable  # noqa: E402
from marketplace.inventory import service as inventory  # noqa: E402
from marketplace.inventory.errors import OutOfStock  # noqa: E402
from marketplace.merchants import accounts  # noqa: E402
from marketplace.regions import regionmap  # noqa: E402
from marketplace.regions.router import Router  # noqa: E402
from tests.api.test_merchant_api import product_body  # noqa: E402
from tests.support import databases  # noqa: E402

ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def race(threads: int, buyers: int, attempt) -> tuple[float, list[float], list[str]]:
    """Run `buyers` attempts over `threads` threads; seconds, latencies, outcomes."""
    latencies, outcomes, lock, next_buyer = [], [], threading.Lock(), iter(range(buyers))
    barrier = threading.Barrier(threads + 1)

    def work():
        barrier.wait()
        while True:
            with lock:
                n = next(next_buyer, None)
            if n is None:
                return
            began = time.perf_counter()
            outcome = attempt(n)
            with lock:
                latencies.append(time.perf_counter() - began)
                outcomes.append(outcome)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began, latencies, outcomes


def app_run(overrides: dict[str, str], args) -> tuple[float, list[float], list[str], tuple[int, int]]:
    settings = config.load({**overrides, "CPU_RELAY_IN_PROCESS": "false", "CPU_DB_POOL_SIZE": str(args.threads)})
    router = Router(settings, regionmap.load(settings.regions_file))
    owner = accounts.sign_up(router=router, trading_name="Flash Sale", legal_name="Flash Sale Ltd", home_country="JM",
                             email="owner@flash.example", password="correct horse battery", handle="flash-sale")
    body = product_body()
    body["variants"][0]["stock"] = {"KGN": args.units}
    product = catalog.create_product(router=router, principal=owner, data=ProductSchema().load(body))
    variant_id = next(v.id for v in product.variants if v.sku == "BM-250")

    def attempt(n):
        while True:
            try:
                with router.unit_of_work("kin") as uow:
                    inventory.reserve(uow.session, reservation_id=f"buyer-{n}", merchant_id=owner.merchant_id,
                                      lines=[(variant_id, 1)], expires_in=timedelta(minutes=15))
                    uow.commit()
                return "held"
            except OutOfStock:
                return "short"
            except RegionUnavailable:  # a full bulkhead: retry, as a client would
                time.sleep(0.01)

    seconds, latencies, outcomes = race(args.threads, args.buyers, attempt)
    [level] = inventory.stock_of(router=router, principal=owner, variant_id=variant_id)
    router.dispose()
    return seconds, latencies, outcomes, (level.on_hand, level.reserved)


def baseline(url: str, args) -> tuple[float, list[float], list[str]]:
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE bench_stock (id int PRIMARY KEY, on_hand int NOT NULL, reserved int NOT NULL)")
        setup.execute("INSERT INTO bench_stock VALUES (1, %s, 0)", (args.units,))
    local = threading.local()

    def attempt(_n):
        if not hasattr(local, "connection"):
            local.connection = psycopg.connect(url, autocommit=True)
        done = local.connection.execute(
            "UPDATE bench_stock SET reserved = reserved + 1 WHERE id = 1 AND on_hand - reserved >= 1")
        return "held" if done.rowcount == 1 else "short"

    return race(args.threads, args.buyers, attempt)


def line(name: str, seconds: float, latencies: list[float], outcomes: list[str]) -> str:
    return (f"{name:<28} {len(outcomes) / seconds:>8.0f} attempts/s  p50 {percentile(latencies, 50) * 1000:6.1f} ms  "
            f"p99 {percentile(latencies, 99) * 1000:6.1f} ms  held {outcomes.count('held')}  short {outcomes.count('short')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--units", type=int, default=400)
    parser.add_argument("--buyers", type=int, default=600)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.threads} threads, {args.units} units, {args.buyers} buyers")
    with tempfile.TemporaryDirectory() as instance, databases.postgres_databases(ADMIN) as overrides:
        overrides["CPU_INSTANCE_PATH"] = instance
        databases.migrate(overrides)
        seconds, latencies, outcomes, (on_hand, reserved) = app_run(overrides, args)
        print(line("inventory.reserve", seconds, latencies, outcomes))
        exact = outcomes.count("held") == args.units == reserved and on_hand == args.units
        print(f"  on hand {on_hand}, reserved {reserved}: {'exact' if exact else 'WRONG'}")
        base = baseline(overrides["CPU_DATABASE_URL_KIN"].replace("postgresql+psycopg://", "postgresql://"), args)
        print(line("bare conditional UPDATE", *base))
        print(f"ratio (app / bare): {len(outcomes) / seconds / (len(base[2]) / base[0]):.2f}")
        if not exact:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
