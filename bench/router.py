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
   `engine.connect()` + the same SELECT (µs per call). The row "router engine" is that same
   bare statement on the router's own engine (pool pre-ping, SQLite BEGIN hook), which tells
   how much of the difference is engine configuration and how much the unit of work + ORM.
3. Requests per second and p50/p99 latency of `GET /api/v1/merchants/<id>` served by gunicorn
   (`wsgi:app`), against bench/bare_app.py, a bare Flask + psycopg endpoint doing the same
   single-row SELECT on the same database, under identical gunicorn settings. Load comes from
   `wrk` when it is on PATH, else from a keep-alive http.client load generator in a separate
   process (`apt-get install wrk` gives the better one). Only 127.0.0.1 is targeted.

How to read it: for times, "ratio" is app / baseline (2.0 = twice as slow as doing it by
hand); for throughput it is app req/s / bare req/s (0.5 = half the bare throughput). Both
servers, the load generator and PostgreSQL share this machine's cores, so absolute numbers
depend on the machine; compare ratios between runs, and only runs on the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import create_engine, text

from marketplace import config
from marketplace.merchants import service
from marketplace.merchants.models import Merchant
from marketplace.regions import regionmap, schema
from marketplace.regions.router import DIRECTORY, Router

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
REGION = "kin"  # where a merchant homed in Jamaica lives
PATH = "/api/v1/merchants/{id}"
SELECT = text("SELECT id, region, name, home_country, created_at FROM merchants WHERE id = :id")
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
    if template:
        settings["CPU_DATABASE_URL_TEMPLATE"] = template
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
    merchant = service.register(router=router, name="Bench Merchant", home_country="JM")
    assert merchant.region == REGION, merchant.region
    return merchant.id


# --- 1. cached lookup ---------------------------------------------------------------------


def ns_per_call(statement: str, namespace: dict[str, object]) -> float:
    """Best of five timeit runs, in nanoseconds per execution of `statement`."""
    timer = timeit.Timer(statement, globals=namespace)
    number, _ = timer.autorange()
    number *= 5  # about a second per run
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def bench_lookup(router: Router, merchant_id: str) -> tuple[float, float]:
    """(region_of, dict.get) in ns per call, cache warm."""
    router.region_of(merchant_id)  # fills the cache
    plain = {merchant_id: REGION}
    routed = ns_per_call("region_of(merchant_id)", {"region_of": router.region_of, "merchant_id": merchant_id})
    baseline = ns_per_call("get(merchant_id)", {"get": plain.get, "merchant_id": merchant_id})
    return routed, baseline


# --- 2. unit of work ----------------------------------------------------------------------


def us_per_call(fn: Callable[[], object], seconds: float) -> float:
    """Best of three timed loops of `seconds`/3 each, in microseconds per call."""
    for _ in range(50):  # warm-up: pool filled, statements compiled and cached
        fn()
    best = math.inf
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        while (now := time.perf_counter()) < deadline:
            fn()
            calls += 1
        best = min(best, (now - start) / calls)
    return best * 1e6


def uow_cases(router: Router, merchant_id: str) -> tuple[Callable[[], object], dict[str, Callable[[], object]]]:
    """The baseline, and the cases measured against it."""
    bare_engine = create_engine(router.url(REGION))  # SQLAlchemy defaults: no pre-ping, no hooks
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
    cases = {
        "router engine: connect() + SELECT": router_engine_select,
        "unit_of_work(read_only): pass": uow_empty,
        "unit_of_work(read_only) + session.get": uow_get,
    }
    return bare_select, cases


def bench_uow(router: Router, merchant_id: str, seconds: float) -> tuple[float, dict[str, float]]:
    baseline_fn, cases = uow_cases(router, merchant_id)
    baseline = us_per_call(baseline_fn, seconds)
    return baseline, {label: us_per_call(fn, seconds) for label, fn in cases.items()}


# --- 3. HTTP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without CPU_* and Flask CLI variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPU_") and k != "FLASK_RUN_FROM_CLI"}
    return {**env, **extra}


@contextlib.contextmanager
def gunicorn(target: str, *, workers: int, threads: int, env: dict[str, str], log: Path,
             check_path: str) -> Iterator[int]:
    """A gunicorn serving `target` (module:app, from the repository root or bench/) on 127.0.0.1,
    up and answering `check_path`; yields its port."""
    port = free_port()
    pythonpath = ["--pythonpath", str(BENCH)] if (BENCH / f"{target.split(':')[0]}.py").exists() else []
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--log-level", "warning", *pythonpath, target]
    with open(log, "ab") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(server, port, check_path, log)
        yield port
    finally:
        with no_interrupts():
            stop(server)


def wait_until_serving(server: subprocess.Popen, port: int, path: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError):
            status, body = http_get(port, path)
            if status == 200:
                return
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}\n{tail(log)}")
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not serve within {timeout} s:\n{tail(log)}")


def http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's process group (it stops its workers); SIGKILL if it lingers."""
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


# --- load generators ------------------------------------------------------------------------


def run_wrk(url: str, *, seconds: float, warmup: float, connections: int) -> Load:
    base = ["wrk", "--threads", "1", "--connections", str(connections)]
    subprocess.run([*base, "--duration", f"{max(1, round(warmup))}s", url], capture_output=True, check=True)
    result = subprocess.run([*base, "--duration", f"{round(seconds)}s", "--latency", url],
                            capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> Load:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    return Load(int(done[1]), errors, wrk_ms(done[2], done[3]) / 1000,
                wrk_percentile(output, "50"), wrk_percentile(output, "99"))


def wrk_percentile(output: str, percent: str) -> float | None:
    match = re.search(rf"^\s+{percent}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return wrk_ms(match[1], match[2]) if match else None


def wrk_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_python_load(port: int, path: str, *, seconds: float, warmup: float, connections: int) -> Load:
    """http.client load from a separate process, so it does not share a GIL with anything here."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(target=_load_process, args=(port, path, seconds, warmup, connections, results),
                             daemon=True)
    worker.start()
    try:
        return Load(*results.get(timeout=warmup + seconds + 60))
    finally:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
            worker.join()


def _load_process(port: int, path: str, seconds: float, warmup: float, connections: int, results) -> None:
    start = time.perf_counter() + warmup
    end = start + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    threads = [threading.Thread(target=_load_loop, args=(port, path, start, end, latencies[i], errors, i), daemon=True)
               for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = sorted(latency for per_thread in latencies for latency in per_thread)
    results.put((len(merged), sum(errors), seconds, percentile(merged, 50), percentile(merged, 99)))


def _load_loop(port: int, path: str, start: float, end: float, latencies: list[float], errors: list[int], i: int) -> None:
    """One keep-alive connection (http.client reconnects when the server closes it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while (sent := time.perf_counter()) < end:
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        if sent >= start:
            if ok:
                latencies.append((time.perf_counter() - sent) * 1000)
            else:
                errors[i] += 1
    connection.close()


def percentile(sorted_values: list[float], percent: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(0, math.ceil(percent / 100 * len(sorted_values)) - 1)
    return sorted_values[rank]


# --- 3. HTTP, put together ------------------------------------------------------------------


def load(port: int, path: str, args: argparse.Namespace) -> Load:
    if shutil.which("wrk"):
        return run_wrk(f"http://127.0.0.1:{port}{path}", seconds=args.duration, warmup=args.warmup,
                       connections=args.connections)
    return run_python_load(port, path, seconds=args.duration, warmup=args.warmup, connections=args.connections)


def bench_http(databases: PostgresDatabases, merchant_id: str, workdir: Path,
               args: argparse.Namespace) -> list[tuple[str, Load, Load]]:
    """For each gunicorn setting: (label, app load, bare load)."""
    path = PATH.format(id=merchant_id)
    app_env = server_env(app_settings(workdir / "instance-http", databases.template))
    bare_env = server_env({"BARE_DATABASE_URL": databases.kin_conninfo})
    rows = []
    for workers, threads in GUNICORN_CONFIGS:
        label = f"--workers {workers} --threads {threads}"
        measured = {}
        for name, target, env in (("app", "wsgi:app", app_env), ("bare", "bare_app:app", bare_env)):
            with gunicorn(target, workers=workers, threads=threads, env=env, log=workdir / f"gunicorn-{name}.log",
                          check_path=path) as port:
                assert_serves_merchant(port, path, merchant_id)
                measured[name] = load(port, path, args)
            print(f"  {label:<26} {name:<4} {format_load(measured[name])}", flush=True)
        rows.append((label, measured["app"], measured["bare"]))
    return rows


def assert_serves_merchant(port: int, path: str, merchant_id: str) -> None:
    status, body = http_get(port, path)
    if status != 200 or json.loads(body).get("id") != merchant_id:
        raise RuntimeError(f"GET {path} answered {status} {body[:300]!r}")


# --- output ---------------------------------------------------------------------------------


def format_load(load: Load) -> str:
    latency = f" p50 {load.p50_ms:.2f} ms p99 {load.p99_ms:.2f} ms" if load.p99_ms is not None else ""
    errors = f" ({load.errors:,} errors)" if load.errors else ""
    return f"{load.rps:,.0f} req/s{latency}{errors}"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


def print_header(args: argparse.Namespace) -> None:
    with psycopg.connect(args.postgres_url, connect_timeout=5) as admin:
        server = admin.execute("SHOW server_version").fetchone()[0]
    loader = "wrk" if shutil.which("wrk") else "python http.client (separate process)"
    print(f"python {platform.python_version()} | {os.cpu_count()} CPUs | PostgreSQL {server} at "
          f"{config.mask_url(args.postgres_url)}")
    print(f"HTTP load: {loader}, {args.connections} connections, {args.warmup:g} s warm-up + "
          f"{args.duration:g} s per target")
    if not shutil.which("wrk"):
        print("  (wrk is not on PATH: `apt-get install wrk` gives a better load generator)")
    print()


def print_summary(lookup: tuple[float, float], uow: dict[str, tuple[float, dict[str, float]]],
                  http_rows: list[tuple[str, Load, Load]]) -> None:
    print("\n== summary (ratio: times app/baseline; req/s app/bare) ==")
    routed, plain = lookup
    print(f"region_of(id), warm cache                   app: {routed:8,.0f} ns | dict.get: {plain:6,.0f} ns"
          f" | ratio {ratio(routed, plain)}")
    for backend, (baseline, cases) in uow.items():
        for label, micros in cases.items():
            print(f"{label + ', ' + backend:<43} app: {micros:8,.1f} µs | bare connect()+SELECT: "
                  f"{baseline:6,.1f} µs | ratio {ratio(micros, baseline)}")
    for label, app, bare in http_rows:
        print(f"GET /api/v1/merchants/<id> [{label}]  app: {format_load(app)} | bare flask+psycopg: "
              f"{format_load(bare)} | ratio {ratio(app.rps, bare.rps)}")


# --- main -----------------------------------------------------------------------------------


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Let clean-up finish even when Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of HTTP load per target (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of HTTP warm-up per target (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP connections (default 8)")
    parser.add_argument("--micro-seconds", type=float, default=1.5,
                        help="seconds per unit-of-work measurement (default 1.5)")
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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    try:
        with tempfile.TemporaryDirectory(prefix="bench-router-") as workdir:
            run(args, Path(workdir))
    except KeyboardInterrupt:
        print("\ninterrupted; databases dropped and servers stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
