"""Where a request on the two hot endpoints spends its time, and how many statements it sends.

Why: bench/router.py and bench/catalog.py say how fast `GET /api/v1/merchants/<id>` and
`GET /api/v1/merchant/products/<id>` are against a bare endpoint, not why. This runs the
same requests in process, through the Flask test client, on PostgreSQL databases of its own
(created, migrated and dropped again like the other benches), counts the SQL statements each
request sends (SQLAlchemy's `before_cursor_execute`), times loops of them, keeping the best (wall clock, and
this process's CPU time, which other load on a shared machine disturbs far less), and
profiles another loop with cProfile, printing the functions with the most cumulative and own
time. bench/bare_app.py's endpoint is timed the same way first: the floor, in the same run.

    .venv/bin/python bench/hot_paths.py [--requests 2000] [--rounds 5] [--top 30] [--postgres-url ...]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, event

# bench/ is sys.path[0] when this file runs; moved last, so that bench/search.py does not hide
# the search package the app imports, while bench/router.py is still found as `router`
sys.path.append(sys.path.pop(0))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from router import DEFAULT_POSTGRES, app_settings, migrated_router, postgres_databases, register_merchant

from marketplace.app import create_app
from marketplace.catalog import service as catalog
from marketplace.merchants import api_keys
from marketplace.merchants.auth import Principal

PRODUCT = {
    "ref": "BENCH-1", "category": "food/coffee", "title": {"en": "Coffee"}, "description": {"en": "Beans"},
    "image_urls": [], "visibility": "public", "ships_to_exclusions": [],
    "variants": [
        {"sku": f"BENCH-1-{n}", "options": {"size": f"{n} kg"}, "base_price": 1000 * n,
         "tiers": [{"min_quantity": 10, "unit_price": 900 * n}], "moq": 1, "case_pack": 1, "hs_code": "090111",
         "origin_country": "JM", "weight_g": 1000 * n, "length_mm": 100, "width_mm": 100, "height_mm": 100,
         "stock": {"main": 10}}
        for n in range(1, 5)
    ],
}


class StatementCounter:
    """Counts statements sent on any engine while installed."""

    def __init__(self):
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._count)


def seed(settings: dict[str, str]) -> tuple[str, str, str]:
    """A merchant, an API key of its owner and a product of 4 variants: (merchant, token, product)."""
    with migrated_router(settings) as router:
        merchant_id = register_merchant(router)
        owner = Principal(merchant_id=merchant_id, region=router.region_of(merchant_id), role="owner")
        _, token = api_keys.create(router=router, principal=owner, name="bench")
        product = catalog.create_product(router=router, principal=owner, data=PRODUCT)
    return merchant_id, token, product.id


def profile(client, path: str, headers: dict[str, str], requests: int, rounds: int, top: int) -> float:
    """CPU µs per request, best round; the profile printed when `top`."""
    counter = StatementCounter()
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    counter.count = 0
    client.get(path, headers=headers)  # warm: the principal and the location are cached now
    # bare_app.py talks to psycopg directly, where SQLAlchemy's events do not see it
    counted = f"{counter.count} SQLAlchemy statement(s)" if counter.count else "no SQLAlchemy statement"
    print(f"\n== GET {path}: {counted} on a warm request")
    counter.close()
    wall = cpu = float("inf")
    for _ in range(rounds):  # other load only ever adds time: the best round is the truest
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(requests):
            client.get(path, headers=headers)
        wall, cpu = min(wall, time.perf_counter() - started), min(cpu, time.process_time() - cpu_started)
    print(f"best of {rounds} rounds of {requests} requests: {1e6 * wall / requests:,.0f} µs each, "
          f"{1e6 * cpu / requests:,.0f} µs of this process's CPU (test client, no profiler; the CPU figure is the one "
          f"other load on the machine disturbs least); load average {os.getloadavg()[0]:.1f}")
    if not top:
        return 1e6 * cpu / requests
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt
    print(f"{requests} requests in {total:.2f} s under the profiler: {1e6 * total / requests:,.0f} µs each")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())
    return 1e6 * cpu / requests


def run(args: argparse.Namespace, workdir: Path) -> None:
    with postgres_databases(args.postgres_url) as databases:
        settings = {**app_settings(workdir / "instance", databases.template), "CPU_SECRET_KEY": "bench-hot-paths-" + "x" * 32}
        merchant_id, token, product_id = seed(settings)
        os.environ.update(settings)
        os.environ["BARE_DATABASE_URL"] = databases.kin_conninfo
        import bare_app

        print("\n== the floor: bench/bare_app.py, bare Flask + psycopg, one SELECT of the merchant")
        floor = profile(bare_app.app.test_client(), f"/api/v1/merchants/{merchant_id}", {}, args.requests, args.rounds, 0)
        app = create_app()
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            merchant = profile(client, f"/api/v1/merchants/{merchant_id}", {}, args.requests, args.rounds, args.top)
            product = profile(client, f"/api/v1/merchant/products/{product_id}", headers, args.requests, args.rounds, args.top)
            print(f"\n== CPU per request (best round), against the floor's {floor:,.0f} µs: merchant GET {merchant:,.0f} µs "
                  f"(ratio {merchant / floor:.2f}), product detail {product:,.0f} µs (ratio {product / floor:.2f}); "
                  f"load average {os.getloadavg()[0]:.1f}")
        finally:
            app.extensions["cpu"].router.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="profiled requests per endpoint (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed loops per endpoint, the best kept (default 5)")
    parser.add_argument("--top", type=int, default=30, help="functions shown per ordering (default 30; 0: time without the profiler only)")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                        help=f"an admin connection to the PostgreSQL server (default: $TEST_POSTGRES_URL or {DEFAULT_POSTGRES})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-hot-paths-") as workdir:
        run(args, Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
