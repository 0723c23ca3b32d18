"""What the catalog costs: the 10,000-variant bulk import and the product-detail endpoint,
each measured against a baseline in the same run.

Why: merchants move whole catalogs in and out as files. An import of 10,000 variants
(2,500 products of 4 variants) must finish in under 30 s on a 2-core machine, and importing
the same file again must change nothing. Every row goes through the JSON API's rules
(marshmallow schema, service.product_problems) and the ORM (service.write_product compares
each field before writing), so its cost over a plain INSERT of the same rows should be
known, not guessed. The product-detail endpoint is what integrations poll: it authenticates
an API key and loads a product with its variants, so its overhead over the cheapest possible
Flask endpoint is measured too.

Run by hand from the repository root (it needs a PostgreSQL server, nothing else):

    .venv/bin/python bench/catalog.py [--duration 10] [--postgres-url postgresql://...]

It creates its own databases `bench_<random>_{kin,sdq,sxm,fdf,bgi,pos,directory}` on the
server (plus SQLite files in a temporary directory), migrates them, signs up one merchant
homed in Jamaica (region `kin`, prices in JMD) per database set, measures, and drops
everything again, also on error, Ctrl-C or SIGTERM. Two measurements:

1. `marketplace.catalog.importer.import_rows` of a generated CSV file (the one of
   tests/integration/test_catalog_import.py: 2,500 products x 4 variants, every row valid),
   on SQLite and on PostgreSQL: the first import (creates everything) and a re-import of the
   same bytes, which must report 2,500 products unchanged and leave the products, variants
   and outbox tables byte-for-byte as they were (checked). Baseline: decoding the same file,
   csv.reader, and one DB-API `executemany` INSERT of its 10,000 rows into a plain table
   (26 text columns, no index, no constraint) on the same database, then COMMIT: the floor
   for writing those rows at all. PASS/FAIL is against the 30 s goal. On PostgreSQL the
   re-import follows the first import at once, before autovacuum has analyzed the new rows,
   as when a merchant corrects a file and uploads it again: queries that need statistics
   show it there.
2. Requests per second and p50/p95/p99 latency of `GET /api/v1/merchant/products/<id>` (a
   product of the PostgreSQL import, with its 4 variants; `Authorization: Bearer <API key>`)
   served by gunicorn (`wsgi:app`), against bench/bare_app.py, a bare Flask + psycopg
   endpoint doing one single-row SELECT of the merchant on the same database, under
   identical gunicorn settings. The baseline does less work than the app on purpose: it is
   the floor of any endpoint here (no key check, one row instead of a product and its
   variants), so the ratio prices everything the app adds, authentication included. Both
   servers run side by side and take turns under load for --rounds rounds; the best round
   of each is kept. Load comes from bench/loadgen.py: `wrk` when it is on PATH, else a
   keep-alive http.client load generator in a separate process (--loader chooses); both
   send the Authorization header to both servers (the bare one ignores it). Only 127.0.0.1
   is targeted.

How to read it: for times, "ratio" is app / baseline (50 = fifty times the bare INSERT); for
throughput it is app req/s / bare req/s (0.25 = a quarter of the bare throughput). The
import runs once per backend (--import-rounds for more, each with a new merchant, the best
kept); the bare INSERT is the best of three. Other work on the machine only ever makes a
figure worse, and the servers, the load generator and PostgreSQL all share this machine's
cores, so absolute numbers depend on the machine and on what else runs on it (the header and
the footer print the load average): compare ratios, and only between runs on one machine.
The 30 s goal is absolute, though: a FAIL on a busy machine is worth a rerun when it is quiet.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import http.client
import io
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

# bench/loadgen.py and bench/router.py (not marketplace.regions.router): bench/ is sys.path[0]
# when this file runs
from loadgen import Load, add_loader_argument, gunicorn, load, loader_label, server_env
from router import (
    DEFAULT_POSTGRES,
    GUNICORN_CONFIGS,
    REGION,
    PostgresDatabases,
    app_settings,
    best_rounds,
    format_load,
    migrated_router,
    postgres_databases,
    print_load_average,
    print_rows,
    ratio,
    round_seconds,
)
from router import PATH as BARE_PATH

from marketplace import config
from marketplace.catalog import importer
from marketplace.catalog.models import Product, Variant
from marketplace.merchants import accounts, api_keys
from marketplace.merchants.auth import Principal
from marketplace.regions.models import OutboxEvent
from marketplace.regions.router import Router

PRODUCTS, VARIANTS_PER_PRODUCT = 2500, 4
GOAL_SECONDS = 30.0
PRODUCT_PATH = "/api/v1/merchant/products/{id}"
BARE_TABLE = "bench_bare_rows"
# One secret for the data and for the servers, so that what the first signs the second reads.
SECRET_KEY = f"bench-catalog-{secrets.token_hex(24)}"


# --- the file -------------------------------------------------------------------------------


def catalog_csv(products: int = PRODUCTS, variants: int = VARIANTS_PER_PRODUCT) -> bytes:
    """`products` products of `variants` variants each, every row valid: the file of
    tests/integration/test_catalog_import.py (ten_thousand_variants), copied here so that a
    test edit does not break the benchmark. Keep the two alike."""

    def row(**cells: str) -> dict[str, str]:
        return {"product_ref": "COF-1", "category": "food/coffee", "title_en": "Coffee", "sku": "COF-1-A",
                "price": "12.50", "hs_code": "090121", "origin_country": "JM", "weight_g": "250",
                "length_mm": "120", "width_mm": "80", "height_mm": "50", "stock": "KGN=10", **cells}

    rows = [row(product_ref=f"P{p:05}", title_en=f"Product {p}", title_es=f"Producto {p}", sku=f"P{p:05}-{v}",
                options=f"size={v * 250} g|roast=medium", price=f"{10 + v}.50", tiers=f"12:{9 + v}.00|144:{8 + v}.00",
                moq="6", case_pack="6", stock=f"KGN={p % 100}|MBJ={v}")
            for p in range(products) for v in range(1, variants + 1)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=importer.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- 1. import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    backend: str
    rows: int
    bare_seconds: float  # best bare executemany
    first_seconds: float
    again_seconds: float
    first_report: dict
    again_report: dict
    unchanged: bool  # the re-import left the tables as they were

    @property
    def first_ok(self) -> bool:
        return (self.first_report["created"], self.first_report["errors"], self.first_report["rows"]) == \
            (PRODUCTS, [], self.rows)

    @property
    def again_ok(self) -> bool:
        report = self.again_report
        return self.unchanged and (report["created"], report["updated"], report["unchanged"], report["errors"]) == \
            (0, 0, PRODUCTS, [])


def sign_up_merchant(router: Router, n: int) -> Principal:
    tag = secrets.token_hex(3)
    principal = accounts.sign_up(router=router, trading_name=f"Bench Catalog {n}", legal_name=f"Bench Catalog {n} Ltd",
                                 home_country="JM", email=f"bench-{tag}@catalog.example", password="bench password 1",
                                 handle=f"bench-catalog-{tag}")
    assert principal.region == REGION, principal.region
    return principal


def bare_insert_seconds(router: Router, content: bytes, repeat: int = 3) -> float:
    """Best time to decode and parse `content` and executemany its rows into a plain table on
    `router`'s `kin` database, with one COMMIT; plain DB-API, none of the app's engine."""
    url = make_url(router.url(REGION))
    columns = ", ".join(f'"{name}" text' for name in importer.COLUMNS)
    insert = f"INSERT INTO {BARE_TABLE} VALUES ({', '.join(['%s'] * len(importer.COLUMNS))})"
    if url.get_backend_name() == "sqlite":
        def connect():
            return contextlib.closing(sqlite3.connect(url.database))
        insert = insert.replace("%s", "?")
    else:
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

        def connect():
            return psycopg.connect(conninfo)
    best = math.inf
    with connect() as connection:
        try:
            for _ in range(repeat):
                connection.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
                connection.execute(f"CREATE TABLE {BARE_TABLE} ({columns})")
                connection.commit()
                started = time.perf_counter()
                reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
                next(reader)  # the header
                cursor = connection.cursor()
                cursor.executemany(insert, list(reader))
                connection.commit()
                best = min(best, time.perf_counter() - started)
                count = connection.execute(f"SELECT count(*) FROM {BARE_TABLE}").fetchone()[0]
                assert count == content.count(b"\n") - 1, count
        finally:
            connection.rollback()
            connection.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
            connection.commit()
    return best


def catalog_digest(router: Router, principal: Principal) -> str:
    """A digest of every product, variant and outbox row of the merchant's shard: equal
    before and after a re-import exactly when it wrote nothing."""
    digest = hashlib.sha256()
    with router.unit_of_work(principal.region, read_only=True) as uow:
        for table, order in ((Product.__table__, Product.id), (Variant.__table__, Variant.id),
                             (OutboxEvent.__table__, OutboxEvent.__table__.primary_key.columns.values()[0])):
            for row in uow.session.execute(select(table).order_by(order)):
                digest.update(repr(tuple(row)).encode())
            digest.update(b"|")
    return digest.hexdigest()


def timed_import(router: Router, principal: Principal, content: bytes) -> tuple[float, dict]:
    started = time.perf_counter()
    report = importer.import_rows(router, principal, content, "bench-10k.csv", progress=None)
    return time.perf_counter() - started, report


def bench_import(backend: str, router: Router, content: bytes, rounds: int) -> tuple[ImportResult, Principal]:
    """The best of `rounds` (first import, re-import) pairs, each pair for a new merchant;
    returns the result and the last merchant (whose catalog the HTTP benchmark reads)."""
    rows = content.count(b"\n") - 1
    print(f"1. import on {backend}: bare executemany ...", flush=True)
    bare = bare_insert_seconds(router, content)
    print(f"   bare executemany of {rows:,} rows: {bare:.3f} s", flush=True)
    results: list[ImportResult] = []
    for n in range(1, rounds + 1):
        principal = sign_up_merchant(router, n)
        first, first_report = timed_import(router, principal, content)
        print(f"   round {n}: first import {first:.1f} s ({rows / first:,.0f} rows/s) "
              f"{summary_of(first_report)}", flush=True)
        before = catalog_digest(router, principal)
        again, again_report = timed_import(router, principal, content)
        unchanged = catalog_digest(router, principal) == before
        print(f"   round {n}: re-import   {again:.1f} s ({rows / again:,.0f} rows/s) {summary_of(again_report)}"
              f"{'' if unchanged else '  <- THE RE-IMPORT CHANGED THE TABLES'}", flush=True)
        results.append(ImportResult(backend, rows, bare, first, again, first_report, again_report, unchanged))
    # the best times; the reports of a round that went wrong, if any did
    worst = next((r for r in results if not (r.first_ok and r.again_ok)), results[0])
    best = dataclasses.replace(worst, first_seconds=min(r.first_seconds for r in results),
                               again_seconds=min(r.again_seconds for r in results))
    return best, principal


def summary_of(report: dict) -> str:
    errors = report["errors"]
    shown = f"; first error {errors[0]}" if errors else ""
    return (f"[{report['created']} created, {report['updated']} updated, {report['unchanged']} unchanged, "
            f"{len(errors)} errors, {report['rows']} rows{shown}]")


# --- 2. HTTP --------------------------------------------------------------------------------


def get_json(port: int, path: str, headers: dict[str, str]) -> tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body[:300]


def bench_http(databases: PostgresDatabases, principal: Principal, product_id: str, token: str, workdir: Path,
               args: argparse.Namespace) -> list[tuple[str, Load, Load]]:
    """For each gunicorn setting: (label, best app round, best bare round)."""
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"app": PRODUCT_PATH.format(id=product_id), "bare": BARE_PATH.format(id=principal.merchant_id)}
    app_env = {**app_settings(workdir / "instance-http", databases.template), "CPU_SECRET_KEY": SECRET_KEY}
    targets = {
        # the app answers /healthz without a key; the product is checked with the key below
        "app": ("wsgi:app", server_env(app_env), "/healthz"),
        "bare": ("bare_app:app", server_env({"BARE_DATABASE_URL": databases.kin_conninfo}), paths["bare"]),
    }
    rows = []
    for workers, threads in GUNICORN_CONFIGS:
        label = f"--workers {workers} --threads {threads}"
        with contextlib.ExitStack() as servers:
            ports = {name: servers.enter_context(gunicorn(target, workers=workers, threads=threads, env=env,
                                                           log=workdir / f"gunicorn-{name}.log", check_path=check))
                     for name, (target, env, check) in targets.items()}
            assert_serves(ports["app"], paths["app"], headers, "id", product_id, variants=VARIANTS_PER_PRODUCT)
            assert_serves(ports["bare"], paths["bare"], headers, "id", principal.merchant_id)
            for name, port in ports.items():
                load(port, [paths[name]], max(1, round(args.warmup)), args.connections, args.loader, headers)
            best = best_rounds(ports, paths, label, args, headers)
        rows.append((label, best["app"], best["bare"]))
    return rows


def assert_serves(port: int, path: str, headers: dict[str, str], key: str, expected: str, variants: int | None = None) -> None:
    status, body = get_json(port, path, headers)
    if status != 200 or not isinstance(body, dict) or body.get(key) != expected or \
            (variants is not None and len(body.get("variants", ())) != variants):
        raise RuntimeError(f"GET {path} answered {status} {str(body)[:300]}")


def api_key_for(router: Router, principal: Principal) -> str:
    _, token = api_keys.create(router=router, principal=principal, name="bench")
    return token


def a_product_id(router: Router, principal: Principal) -> str:
    """The middle product of the file, with its 4 variants."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return uow.session.scalar(select(Product.id).where(
            Product.merchant_id == principal.merchant_id, Product.ref == f"P{PRODUCTS // 2:05}"))


# --- output ---------------------------------------------------------------------------------


def print_header(args: argparse.Namespace, content: bytes) -> None:
    with psycopg.connect(args.postgres_url, connect_timeout=5) as admin:
        server = admin.execute("SHOW server_version").fetchone()[0]
    print(f"python {platform.python_version()} | {os.cpu_count()} CPUs | PostgreSQL {server} at "
          f"{config.mask_url(args.postgres_url)}")
    variants = content.count(b"\n") - 1
    print(f"import: {variants:,} variants in {PRODUCTS:,} products, {len(content) / 1024:,.0f} KiB of "
          f"CSV, {importer.BATCH_ROWS} rows per unit of work; {args.import_rounds} round(s) per backend, goal "
          f"< {GOAL_SECONDS:.0f} s")
    print(f"HTTP load: {loader_label(args.loader)}, {args.connections} connections, {args.warmup:g} s warm-up, then "
          f"{args.rounds} rounds of {round_seconds(args)} s per target, the best round kept")
    if not shutil.which("wrk"):
        print("  (wrk is not on PATH: `apt-get install wrk` gives a better load generator)")
    print_load_average("at start")
    print()


def verdict(seconds: float, ok: bool, checks: str) -> str:
    if not ok:
        return f"FAIL ({checks})"
    return "PASS" if seconds < GOAL_SECONDS else f"FAIL (>= {GOAL_SECONDS:.0f} s)"


def print_summary(imports: list[ImportResult], http_rows: list[tuple[str, Load, Load]]) -> None:
    rows = []
    for result in imports:
        bare = (f"{result.bare_seconds:.3f} s ({result.rows / result.bare_seconds:,.0f} rows/s)")
        for what, seconds, ok, checks in (
            ("first import", result.first_seconds, result.first_ok, "report not 2,500 created without errors"),
            ("re-import", result.again_seconds, result.again_ok, "it changed something or reported errors"),
        ):
            rows.append((f"{what}, {result.backend}", f"{seconds:.1f} s ({result.rows / seconds:,.0f} rows/s)",
                         "bare executemany", bare, f"{ratio(seconds, result.bare_seconds):>6}  "
                         f"{verdict(seconds, ok, checks)}"))
    served = [(f"GET /api/v1/merchant/products/<id> [{label}]", format_load(app), "bare flask+psycopg",
               format_load(bare), ratio(app.rps, bare.rps)) for label, app, bare in http_rows]
    print(f"\n== summary (ratio: for times app / baseline, lower is better; for req/s app / bare, higher is better;"
          f" goal: {PRODUCTS * VARIANTS_PER_PRODUCT:,}-variant import < {GOAL_SECONDS:.0f} s) ==")
    print_rows(rows)
    print_rows(served)
    print_load_average("at end")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--import-rounds", type=int, default=1,
                        help="first import + re-import pairs per backend, each for a new merchant, the best kept "
                             "(default 1)")
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of measured HTTP load per target and gunicorn setting (default 10)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the HTTP load is split into this many rounds, the targets taking turns (default 3)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of HTTP warm-up per target (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP connections (default 8)")
    add_loader_argument(parser)
    parser.add_argument("--skip-http", action="store_true", help="measure the import only")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="an admin connection to the PostgreSQL server (default: $TEST_POSTGRES_URL or "
                             f"{DEFAULT_POSTGRES})")
    args = parser.parse_args(argv)
    if args.import_rounds < 1 or args.rounds < 1:
        parser.error("--import-rounds and --rounds must be at least 1")
    return args


def settings_for(workdir: Path, name: str, template: str | None = None) -> dict[str, str]:
    return {**app_settings(workdir / name, template), "CPU_SECRET_KEY": SECRET_KEY}


def run(args: argparse.Namespace, workdir: Path) -> None:
    content = catalog_csv()
    print_header(args, content)
    imports: list[ImportResult] = []
    http_rows: list[tuple[str, Load, Load]] = []
    with migrated_router(settings_for(workdir, "instance-sqlite")) as router:
        imports.append(bench_import("SQLite", router, content, args.import_rounds)[0])
    with postgres_databases(args.postgres_url) as databases:
        print(f"   PostgreSQL databases {databases.prefix}_* created", flush=True)
        with migrated_router(settings_for(workdir, "instance-pg", databases.template)) as router:
            result, principal = bench_import("PostgreSQL", router, content, args.import_rounds)
            imports.append(result)
            token, product_id = api_key_for(router, principal), a_product_id(router, principal)
        if not args.skip_http:
            print("2. HTTP: gunicorn wsgi:app product detail vs bare_app:app ...", flush=True)
            http_rows = bench_http(databases, principal, product_id, token, workdir, args)
    print_summary(imports, http_rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`&`)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-catalog-") as workdir:
            run(args, Path(workdir))
    except KeyboardInterrupt:
        print("\ninterrupted: databases dropped, servers stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
