"""Ledger postings/s on PostgreSQL, against a bare INSERT of the same rows in the same run.

Why: every capture, delivery, refund and payout is a posting (ledger.post: the key looked up,
the balance checked per currency, one posting row and its entry rows through the ORM, in a
unit of work). What that costs over writing the same rows with plain SQL should be known.

Run by hand from the repository root, with PostgreSQL at TEST_POSTGRES_URL (default the local one):

    .venv/bin/python bench/payments.py [--postings 2000] [--batch 1]

It creates fresh databases and migrates them, then posts `--postings` captures of four
entries each in the `kin` shard (`--batch` postings per transaction), then inserts the same
rows (one posting row and four entry rows per posting, the same batches, one transaction
each) with psycopg into the same tables. It prints postings/s of both, the ratio (goal
>= 0.3) and the load average: the machine is shared, compare the ratio, not the absolutes.
The Stripe webhook half of issue 12's benchmark belongs with the webhook (payments/stripe/).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from marketplace import config  # noqa: E402
from marketplace.regions import regionmap  # noqa: E402
from marketplace.regions.base import utcnow  # noqa: E402
from marketplace.regions.ids import new_id  # noqa: E402
from marketplace.regions.router import Router  # noqa: E402
from payments.ledger import Entry, post  # noqa: E402
from tests.support import databases  # noqa: E402

ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def capture_entries(n: int) -> list[Entry]:
    mine = {"merchant_id": f"mer_{n % 50}", "order_id": f"ord_{n}", "currency": "EUR"}
    return [Entry("buyer_clearing", 11_500, **mine), Entry("merchant_held", -10_300, **mine),
            Entry("fee_revenue", -800, **mine), Entry("customs_collected", -400, **mine)]


def ledger_run(router, postings: int, batch: int) -> float:
    began = time.perf_counter()
    for start in range(0, postings, batch):
        with router.unit_of_work("kin") as uow:
            for n in range(start, min(start + batch, postings)):
                post(uow.session, key=f"capture:bench-{n}", kind="capture", merchant_id=f"mer_{n % 50}",
                     entries=capture_entries(n))
            uow.commit()
    return time.perf_counter() - began


def bare_run(url: str, postings: int, batch: int) -> float:
    entry_sql = ("INSERT INTO ledger_entries (posting_id, region, account, merchant_id, order_id, currency, amount)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s)")
    with psycopg.connect(url) as conn:
        began = time.perf_counter()
        for start in range(0, postings, batch):
            with conn.transaction():
                for n in range(start, min(start + batch, postings)):
                    posting_id = new_id("lgp")
                    conn.execute("INSERT INTO ledger_postings (id, region, key, kind, merchant_id, created_at)"
                                 " VALUES (%s, %s, %s, %s, %s, %s)",
                                 (posting_id, "kin", f"capture:bare-{n}", "capture", f"mer_{n % 50}", utcnow()))
                    for e in capture_entries(n):
                        conn.execute(entry_sql, (posting_id, "kin", e.account, e.merchant_id, e.order_id, e.currency, e.amount))
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance, databases.postgres_databases(ADMIN) as overrides:
        overrides["CPU_INSTANCE_PATH"] = instance
        databases.migrate(overrides)
        settings = config.load({**overrides, "CPU_RELAY_IN_PROCESS": "false"})
        router = Router(settings, regionmap.load(settings.regions_file))
        url = overrides["CPU_DATABASE_URL_KIN"].replace("postgresql+psycopg://", "postgresql://")
        print(f"load average before: {os.getloadavg()}")
        ledger_seconds = ledger_run(router, args.postings, args.batch)
        bare_seconds = bare_run(url, args.postings, args.batch)
        router.dispose()
        ledger_rate, bare_rate = args.postings / ledger_seconds, args.postings / bare_seconds
        print(f"ledger.post: {ledger_rate:8.0f} postings/s ({args.postings} postings of 4 entries, {args.batch} per transaction)")
        print(f"bare INSERT: {bare_rate:8.0f} postings/s (the same rows, the same transactions)")
        print(f"ratio      : {ledger_rate / bare_rate:.2f} (goal >= 0.30)")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
