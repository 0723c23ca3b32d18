"""What the shard router costs a request, measured against baselines in the same run.

Why: every request goes through `Router.region_of` (which region holds this party?) and opens
at least one unit of work (one transaction on one shard). Both sit on the hot path of every
endpoint, so their overhead over doing the same thing by hand should be known, not guessed.

Run by hand from the repository root (it needs a PostgreSQL server, nothing else):

    .venv/bin/python bench/router.py [--duration 10] [--postgres-url postgresql://...]

It creates its own databases `bench_<random>_{kin,sdq,sxm,fdf,bgi,pos,directory}` on the
server (plus SQLite files in a temporary directory), migrates them, registers one merchant
homed in Jamaica (region `kin`), measures, and drops everything again, also on error or
Ctrl-C. Three measurements:

1. `router.region_of(id)` with a warm cache, against a plain `dict.get`  (ns per call).
2. Opening and closing a read-only unit of work on `kin`, empty and with one
   `session.get(Merchant, id)`, on SQLite and on PostgreSQL, against a bare SQLAlchemy
   `engine.connect()` + the same SELECT (µs per call). The empty unit of work never touches
   the database (a Session connects on first use): it is the pure Python cost of the unit of
   work. The row "router engine" is the bare statement on the router's own engine (pool
   pre-ping, SQLite BEGIN hook, read-only transaction): it tells how much of the difference is
   engine configuration and how much the unit of work and the ORM.
3. Requests per second and p50/p95/p99 latency of `GET /api/v1/merchants/<id>` served by
   gunicorn (`wsgi:app`), against bench/bare_app.py, a bare Flask + psycopg endpoint doing
   the same single-row SELECT on the same database, under identical gunicorn settings. Both
   servers run side by side and take turns under load for --rounds rounds; the best round of
   each is kept. Load comes from bench/loadgen.py: `wrk` when it is on PATH, else a
   keep-alive http.client load generator in a separate process (`apt-get install wrk` gives
   the better one; --loader chooses). Only 127.0.0.1 is targeted.

How to read it: for times, "ratio" is app / baseline (2.0 = twice as slow as doing it by
hand); for throughput it is app req/s / bare req/s (0.5 = half the bare throughput). Every
figure is the best of several runs, baseline and app taking turns, because other work on the
machine only ever makes a figure worse. Both servers, the load generator and PostgreSQL share
this machine's cores, so absolute numbers depend on the machine and on what else runs on it
(the header prints the load average): compare ratios, and only between runs on one machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine, create_engine, text

# bench/loadgen.py: bench/ is sys.path[0] when this file runs
from loadgen import Load, add_loader_argument, gunicorn, http_get, load, loader_label, no_interrupts, server_env

from marketplace import config
from marketplace.merchants import accounts, service
from marketplace.merchants.models import Merchant
from marketplace.regions import regionmap, schema
from marketplace.regions.router import DIRECTORY, Router

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
REGION = "kin"  # where a merchant homed in Jamaica lives
PATH = "/api/v1/merchants/{id}"
BASELINE = "bare engine: connect() + SELECT"
# the statement session.get(Merchant, id) sends, as plain text
SELECT = text(f"SELECT {', '.join(c.name for c in Merchant.__table__.columns)} FROM merchants WHERE id = :id")
# gunicorn settings, identical for the app and the bare baseline: (workers, threads)
GUNICORN_CONFIGS = ((2, 1), (2, 4))


# --- databases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresDatabases:
    prefix: str
    template: str  # CPU_DATABASE_URL_TEMPLATE, with {name}
    kin_conninfo: str  # for the bare app


def database_names() -> tuple[str, ...]:
    return (*regionmap.load().region_codes, DIRECTORY)


@contextlib.contextmanager
def postgres_databases(admin_url: str) -> Iterator[PostgresDatabases]:
    """Create bench_<random>_<name> for every database; drop them all on the way out."""
    prefix = f"bench_{secrets.token_hex(4)}"
    created: list[str] = []
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            for name in database_names():
                admin.execute(f'CREATE DATABASE "{prefix}_{name}"')
                created.append(f"{prefix}_{name}")
        kin = psycopg.conninfo.make_conninfo(admin_url, dbname=f"{prefix}_{REGION}")
        yield PostgresDatabases(prefix, url_template(admin_url, prefix), kin)
    finally:
        with no_interrupts():
            drop_databases(admin_url, created)


def drop_databases(admin_url: str, databases: list[str]) -> None:
    if not databases:
        return
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        for database in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"dropped {len(databases)} databases {databases[0].rsplit('_', 1)[0]}_*")


def url_template(admin_url: str, prefix: str) -> str:
    """A SQLAlchemy URL for database `<prefix>_{name}` on the admin URL's server."""
    parts = psycopg.conninfo.conninfo_to_dict(admin_url)
    user = quote(parts.get("user") or "postgres", safe="")
    password = f":{quote(parts['password'], safe='')}" if parts.get("password") else ""
    host, port = parts.get("host") or "127.0.0.1", parts.get("port") or "5432"
    if host.startswith("/"):
        return f"postgresql+psycopg://{user}{password}@/{prefix}_{{name}}?host={host}&port={port}"
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{prefix}_{{name}}"


def app_settings(instance: Path, template: str | None = None) -> dict[str, str]:
    """The CPU_* settings of the app under test: SQLite files in `instance`, or PostgreSQL."""
    settings = {"CPU_INSTANCE_PATH": str(instance), "CPU_RELAY_IN_PROCESS": "false", "CPU_LOG_LEVEL": "WARNING"}
    if template:  # card checkouts by the stand-in card, which PostgreSQL gets only when asked (marketplace.config)
        settings.update(CPU_DATABASE_URL_TEMPLATE=template, CPU_STANDIN_CARD="true")
    return settings


@contextlib.contextmanager
def migrated_router(settings: dict[str, str]) -> Iterator[Router]:
    """A router over migrated databases (the environment's CPU_* variables are ignored)."""
    loaded = config.load(settings, environ={})
    loaded.instance_path.mkdir(parents=True, exist_ok=True)  # where SQLite files go
    router = Router(loaded, regionmap.load(loaded.regions_file))
    try:
        schema.upgrade_all(router, report=lambda _line: None)
        yield router
    finally:
        router.dispose()


def register_merchant(router: Router) -> str:
    owner = accounts.sign_up(router=router, trading_name="Bench Merchant", legal_name="Bench Merchant Ltd", home_country="JM",
                             email="owner@bench.example", password="bench password", handle="bench-merchant")
    merchant = service.get(router=router, merchant_id=owner.merchant_id)
    assert merchant.region == REGION, merchant.region
    return merchant.id


# --- 1. cached lookup ---------------------------------------------------------------------


def ns_per_call(statement: str, namespace: dict[str, object]) -> float:
    """Best of five timeit runs, in nanoseconds per execution of `statement`."""
    timer = timeit.Timer(statement, globals=namespace)
    number, _ = timer.autorange()
    number *= 2  # about 0.4 s per run
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def bench_lookup(router: Router, merchant_id: str) -> tuple[float, float]:
    """(region_of, dict.get) in ns per call, cache warm."""
    router.region_of(merchant_id)  # fills the cache
    plain = {merchant_id: REGION}
    routed = ns_per_call("region_of(merchant_id)", {"region_of": router.region_of, "merchant_id": merchant_id})
    baseline = ns_per_call("get(merchant_id)", {"get": plain.get, "merchant_id": merchant_id})
    return routed, baseline


# --- 2. unit of work ----------------------------------------------------------------------


def us_per_call(cases: dict[str, Callable[[], object]], seconds: float, rounds: int = 5) -> dict[str, float]:
    """Microseconds per call of each case: the best of `rounds` timed loops, the cases taking
    turns so that a change in the machine's speed during the run hits them all alike."""
    for fn in cases.values():
        for _ in range(50):  # warm-up: pool filled, statements compiled and cached
            fn()
    best = dict.fromkeys(cases, math.inf)
    for _ in range(rounds):
        for label, fn in cases.items():
            best[label] = min(best[label], seconds_per_call(fn, seconds / rounds / len(cases)))
    return {label: value * 1e6 for label, value in best.items()}


def seconds_per_call(fn: Callable[[], object], seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while (now := time.perf_counter()) < deadline:
        fn()
        calls += 1
    return (now - start) / calls


def uow_cases(router: Router, bare_engine: Engine, merchant_id: str) -> dict[str, Callable[[], object]]:
    """The baseline (first), and the cases measured against it."""
    router_engine = router.engine(REGION).execution_options(cpu_read_only=True, postgresql_readonly=True)

    def bare_select():
        with bare_engine.connect() as connection:
            return connection.execute(SELECT, {"id": merchant_id}).first()

    def router_engine_select():
        with router_engine.connect() as connection:
            return connection.execute(SELECT, {"id": merchant_id}).first()

    def uow_empty():
        with router.unit_of_work(REGION, read_only=True):
            pass

    def uow_get():
        with router.unit_of_work(REGION, read_only=True) as uow:
            return uow.session.get(Merchant, merchant_id)

    assert bare_select() is not None and uow_get() is not None
    return {
        BASELINE: bare_select,
        "router engine: connect() + SELECT": router_engine_select,
        "unit_of_work(read_only): pass": uow_empty,
        "unit_of_work(read_only) + session.get": uow_get,
    }


def bench_uow(router: Router, merchant_id: str, seconds: float) -> tuple[float, dict[str, float]]:
    """(baseline, {case: µs per call}) for the `kin` database of `router`."""
    bare_engine = create_engine(router.url(REGION))  # SQLAlchemy's defaults: no pre-ping, no hooks
    try:
        timings = us_per_call(uow_cases(router, bare_engine, merchant_id), seconds)
    finally:
        bare_engine.dispose()
    return timings.pop(BASELINE), timings


# --- 3. HTTP --------------------------------------------------------------------------------


def round_seconds(args: argparse.Namespace) -> int:
    """Length of one measured round (whole seconds: wrk takes no fractions)."""
    return max(1, round(args.duration / args.rounds))


def bench_http(databases: PostgresDatabases, merchant_id: str, workdir: Path,
               args: argparse.Namespace) -> list[tuple[str, Load, Load]]:
    """For each gunicorn setting: (label, best app round, best bare round).

    Both servers run side by side (an idle one costs nothing) and take turns under load, so
    that other work on the machine hits both alike."""
    path = PATH.format(id=merchant_id)
    targets = {
        "app": ("wsgi:app", server_env(app_settings(workdir / "instance-http", databases.template))),
        "bare": ("bare_app:app", server_env({"BARE_DATABASE_URL": databases.kin_conninfo})),
    }
    rows = []
    for workers, threads in GUNICORN_CONFIGS:
        label = f"--workers {workers} --threads {threads}"
        with contextlib.ExitStack() as servers:
            ports = {name: servers.enter_context(gunicorn(target, workers=workers, threads=threads, env=env,
                                                           log=workdir / f"gunicorn-{name}.log", check_path=path))
                     for name, (target, env) in targets.items()}
            for port in ports.values():
                assert_serves_merchant(port, path, merchant_id)
                load(port, [path], max(1, round(args.warmup)), args.connections, args.loader)
            best = best_rounds(ports, {name: path for name in ports}, label, args)
        rows.append((label, best["app"], best["bare"]))
    return rows


def best_rounds(ports: dict[str, int], paths: dict[str, str], label: str, args: argparse.Namespace,
                headers: dict[str, str] | None = None) -> dict[str, Load]:
    """The round with the most req/s for each server (asked for its own path), the servers
    taking turns."""
    best: dict[str, Load] = {}
    for round_ in range(1, args.rounds + 1):
        for name, port in ports.items():
            result = load(port, [paths[name]], round_seconds(args), args.connections, args.loader, headers)
            print(f"  {label}  round {round_}  {name:<4}  {format_load(result)}", flush=True)
            if name not in best or result.rps > best[name].rps:
                best[name] = result
    return best


def assert_serves_merchant(port: int, path: str, merchant_id: str) -> None:
    status, body = http_get(port, path)
    if status != 200 or json.loads(body).get("id") != merchant_id:
        raise RuntimeError(f"GET {path} answered {status} {body[:300]!r}")


# --- output ---------------------------------------------------------------------------------


def format_load(load: Load) -> str:
    latency = (f" p50 {load.p50_ms:.2f} ms p95 {load.p95_ms:.2f} ms p99 {load.p99_ms:.2f} ms"
               if load.p99_ms is not None else "")
    errors = f" ({load.errors:,} errors)" if load.errors else ""
    return f"{load.rps:,.0f} req/s{latency}{errors}"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


def print_header(args: argparse.Namespace) -> None:
    with psycopg.connect(args.postgres_url, connect_timeout=5) as admin:
        server = admin.execute("SHOW server_version").fetchone()[0]
    print(f"python {platform.python_version()} | {os.cpu_count()} CPUs | PostgreSQL {server} at "
          f"{config.mask_url(args.postgres_url)}")
    print(f"HTTP load: {loader_label(args.loader)}, {args.connections} connections, {args.warmup:g} s warm-up, then "
          f"{args.rounds} rounds of {round_seconds(args)} s per target, the best round kept")
    if not shutil.which("wrk"):
        print("  (wrk is not on PATH: `apt-get install wrk` gives a better load generator)")
    print_load_average("at start")
    print()


def print_load_average(when: str) -> None:
    """Other work on the machine skews every figure here; say so when there is any."""
    load_1min, cpus = os.getloadavg()[0], os.cpu_count() or 1
    warning = "  <- other processes compete for the CPU: expect noisy figures" if load_1min > 0.5 * cpus else ""
    print(f"load average {when}: {load_1min:.2f} on {cpus} CPUs{warning}")


def print_summary(lookup: tuple[float, float], uow: dict[str, tuple[float, dict[str, float]]],
                  http_rows: list[tuple[str, Load, Load]]) -> None:
    routed, plain = lookup
    per_call = [("region_of(id), warm cache", f"{routed:,.0f} ns", "dict.get", f"{plain:,.0f} ns", ratio(routed, plain))]
    for backend, (baseline, cases) in uow.items():
        per_call += [(f"{label}, {backend}", f"{micros:,.1f} µs", "bare connect()+SELECT", f"{baseline:,.1f} µs",
                      ratio(micros, baseline)) for label, micros in cases.items()]
    served = [(f"GET /api/v1/merchants/<id> [{label}]", format_load(app), "bare flask+psycopg", format_load(bare),
               ratio(app.rps, bare.rps)) for label, app, bare in http_rows]
    print("\n== summary (ratio: for times app / baseline, lower is better; for req/s app / bare, higher is better) ==")
    print_rows(per_call)
    print_rows(served)


def print_rows(rows: list[tuple[str, str, str, str, str]]) -> None:
    """Aligned lines: `what  app: X | baseline: Y | ratio Z`."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for what, app, base_name, base, rate in rows:
        print(f"{what:<{widths[0]}}  app: {app:>{widths[1]}} | {base_name + ':':<{widths[2] + 1}} "
              f"{base:>{widths[3]}} | ratio {rate}")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of measured HTTP load per target and gunicorn setting (default 10)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the HTTP load is split into this many rounds, the targets taking turns (default 3)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of HTTP warm-up per target (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP connections (default 8)")
    parser.add_argument("--micro-seconds", type=float, default=8,
                        help="seconds of unit-of-work measurements per database (default 8)")
    add_loader_argument(parser)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="an admin connection to the PostgreSQL server (default: $TEST_POSTGRES_URL or "
                             f"{DEFAULT_POSTGRES})")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, workdir: Path) -> None:
    print_header(args)
    uow: dict[str, tuple[float, dict[str, float]]] = {}
    with migrated_router(app_settings(workdir / "instance-sqlite")) as router:
        merchant_id = register_merchant(router)
        print("1. region_of with a warm cache ...", flush=True)
        lookup = bench_lookup(router, merchant_id)
        print("2. unit of work on SQLite ...", flush=True)
        uow["SQLite"] = bench_uow(router, merchant_id, args.micro_seconds)
    with postgres_databases(args.postgres_url) as databases:
        print(f"   PostgreSQL databases {databases.prefix}_* created", flush=True)
        with migrated_router(app_settings(workdir / "instance-pg", databases.template)) as router:
            merchant_id = register_merchant(router)
            print("2. unit of work on PostgreSQL ...", flush=True)
            uow["PostgreSQL"] = bench_uow(router, merchant_id, args.micro_seconds)
        print("3. HTTP: gunicorn wsgi:app vs bare_app:app ...", flush=True)
        http_rows = bench_http(databases, merchant_id, workdir, args)
    print_summary(lookup, uow, http_rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    try:
        with tempfile.TemporaryDirectory(prefix="bench-router-") as workdir:
            run(args, Path(workdir))
    except KeyboardInterrupt:
        print("\ninterrupted: databases dropped, servers stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
