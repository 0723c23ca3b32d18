"""A flash sale and a busy day of checkouts, through the HTTP API under gunicorn on PostgreSQL.

Why: a checkout is a saga over events (the buyer's region records it, each merchant's region
reserves and answers, payment follows), so its cost is several transactions and relay hops,
not one. Two things must be known, not guessed: that a race for the last units sells exactly
what is on hand and tells everyone else clearly, and how many checkouts a server sustains
next to what the same PostgreSQL server does for the standard TPC-B transaction.

Run by hand from the repository root, with PostgreSQL at TEST_POSTGRES_URL (default the local one):

    .venv/bin/python bench/flash_sale.py [--buyers 500] [--units 100] [--spread-buyers 600]
                                         [--clients 16] [--workers 2] [--threads 8]

gunicorn serves the API (`--workers` x `--threads`) and one `cpu relay` process beside it runs
the saga's events for all six regions (the embedded transport), as a data center runs them.

1. Flash sale: one variant of a Kingston merchant with `--units` on hand; `--buyers` signed-in
   buyers, each with that variant in the cart, all POST /api/v1/checkouts at the same instant
   (one thread and connection each) and poll their checkout until it settles (after 50 ms,
   then twice as long each time up to 1 s, as a phone would: the latencies include that wait). Checked by a
   scan of every shard: exactly `--units` paid merchant orders, one per winning checkout, no
   checkout twice for a buyer, the rest failed with the merchant's leg "Out of stock.", the
   variant's stock at 0 on hand and 0 reserved. Prints checkouts/s (settled per second of the
   race) and p50/p99 from POST to settled.
2. Sustained: `--spread-buyers` buyers homed in all six regions, each buying one of 50
   variants of six merchants (one per region), `--clients` at a time, closed loop. Prints
   sustained checkouts/s and p50/p99, then pgbench's TPC-B (scale 10, the same clients, 15 s)
   on a scratch database of the same server: the baseline. Goal: at least 0.25 of TPC-B's
   transactions/s, p99 under 250 ms.

The servers, the buyers' threads and PostgreSQL share this machine's cores; the load average
is printed with every figure. Everything is created in fresh databases and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from loadgen import gunicorn, percentile, server_env  # noqa: E402
from router import DEFAULT_POSTGRES, app_settings, migrated_router, postgres_databases  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from marketplace.buyers import accounts as buyer_accounts  # noqa: E402
from marketplace.buyers import addresses, tokens  # noqa: E402
from marketplace.catalog import service as catalog  # noqa: E402
from marketplace.catalog.schemas import ProductSchema  # noqa: E402
from marketplace.inventory.models import HELD, Reservation, StockLevel  # noqa: E402
from marketplace.merchants import accounts, auth  # noqa: E402
from marketplace.orders.models import Checkout, MerchantOrder  # noqa: E402
from tests.api.test_merchant_api import product_body  # noqa: E402

SECRET_KEY = f"bench-flash-{secrets.token_hex(24)}"
SHOPS = {"kin": "JM", "sdq": "DO", "sxm": "SX", "fdf": "MQ", "bgi": "BB", "pos": "TT"}  # a merchant per region
PASSWORD = "flash sale horse battery"
POLL_FIRST, POLL_MOST = 0.05, 1.0  # a phone polls its checkout sooner at first, then backs off
SETTLE_PATIENCE = 120.0


def milliseconds(values: list[float], percent: float) -> str:
    """The nearest-rank percentile of `values` (seconds) in ms, as loadgen computes every bench's."""
    found = percentile(sorted(values), percent)
    return "n/a" if found is None else f"{found * 1000:.0f} ms"


def load_average() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


@dataclass
class Buyer:
    id: str
    region: str
    auth: dict[str, str]
    address_id: str


@dataclass
class Outcome:
    buyer: Buyer
    checkout_id: str | None
    state: str
    reasons: list[str]
    seconds: float


# --- the marketplace ------------------------------------------------------------------------

def open_shop(router, region: str, country: str, *, products: int, units: int) -> tuple[str, list[str]]:
    """A merchant homed in `region` with `products` products; the ids of their first variants."""
    owner = accounts.sign_up(router=router, trading_name=f"Flash {region}", legal_name=f"Flash {region} Ltd",
                             home_country=country, email=f"owner@flash-{region}.example", password=PASSWORD,
                             handle=f"flash-{region}")
    variant_ids = []
    for n in range(products):
        body = product_body(ref=f"flash-{n}", sku_prefix=f"{country}{n}")
        body["variants"][0]["stock"] = {"KGN": units}
        made = catalog.create_product(router=router, principal=owner, data=ProductSchema().load(body))
        variant_ids.append(next(v.id for v in made.variants if v.sku.endswith("-250")))
    return owner.merchant_id, variant_ids


def sign_up_buyers(router, count: int, countries: list[str], label: str) -> list[Buyer]:
    """Buyers with a token and an address, made in this process (setup is not measured). Their
    passwords are hashed with Argon2's cheapest parameters here: nobody signs in with them
    (the tokens are issued directly), and a thousand full-cost hashes would take minutes."""
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    def one(n: int) -> Buyer:
        country = countries[n % len(countries)]
        buyer = buyer_accounts.sign_up(router=router, email=f"{label}-{n}@flash.example", password=PASSWORD,
                                       name=f"Buyer {n}", home_country=country)
        pair = tokens.start(router=router, buyer_id=buyer.id, region=buyer.region)
        address = addresses.add(router=router, region=buyer.region, owner_id=buyer.id, data={
            "recipient": f"Buyer {n}", "line1": "1 Hope Road", "city": "Kingston", "country": country})
        return Buyer(buyer.id, buyer.region, {"Authorization": f"Bearer {pair.access_token}"}, address.id)

    made: list[Buyer] = []
    with ThreadPoolExecutor(4) as pool:
        for buyer in pool.map(one, range(count)):
            made.append(buyer)
            if len(made) % 100 == 0:
                print(f"   {len(made)} buyers signed up", flush=True)
    return made


# --- HTTP -----------------------------------------------------------------------------------

class Client:
    """One keep-alive connection, as one phone would hold."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    refusals = 0  # 503s answered and retried (a region's bulkhead full, or its deadline passed), by all clients

    def call(self, method: str, path: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, dict]:
        """A 503 is retried after its Retry-After (at most 1 s), as the app would: up to 5 times."""
        for _ in range(5):
            status, answer = self._once(method, path, headers, body)
            if status != 503:
                return status, answer
            Client.refusals += 1
            time.sleep(0.5)
        return status, answer

    def _once(self, method: str, path: str, headers: dict[str, str], body: dict | None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {**headers, **({"Content-Type": "application/json"} if payload is not None else {})}
        for attempt in range(3):
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else {})
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def fill_cart(port: int, buyer: Buyer, merchant_id: str, variant_id: str) -> None:
    status, body = Client(port).call("PUT", "/api/v1/cart/lines", buyer.auth,
                                     {"merchant_id": merchant_id, "variant_id": variant_id, "quantity": 1})
    if status != 200:
        raise SystemExit(f"could not fill a cart: {status} {body}")


def check_out(client: Client, buyer: Buyer) -> Outcome:
    """POST the checkout, then poll it until it settles; the time is POST to settled."""
    began = time.perf_counter()
    headers = {**buyer.auth, "Idempotency-Key": f"flash-{buyer.id}"}
    status, body = client.call("POST", "/api/v1/checkouts", headers, {"shipping_address_id": buyer.address_id})
    if status not in (200, 201, 202):
        return Outcome(buyer, None, f"http {status}", [str(body.get("detail", body))], time.perf_counter() - began)
    checkout_id, pause = body["id"], POLL_FIRST
    while not body.get("settled"):
        if time.perf_counter() - began > SETTLE_PATIENCE:
            return Outcome(buyer, checkout_id, "unsettled", [], time.perf_counter() - began)
        time.sleep(pause)
        pause = min(POLL_MOST, pause * 2)
        status, body = client.call("GET", f"/api/v1/checkouts/{checkout_id}", buyer.auth)
    return Outcome(buyer, checkout_id, body["state"], [leg.get("reason") or "" for leg in body["legs"]],
                   time.perf_counter() - began)


@contextlib.contextmanager
def relay_process(env: dict[str, str], log: Path) -> Iterator[None]:
    """`cpu relay` beside gunicorn, as a data center runs it: in the servers' own threads it
    would compete for their GIL with hundreds of polling phones, and lose. It polls the shards
    every 0.1 s for what the servers commit (a checkout's first event); each later hop is
    committed by the relay itself and wakes it at once."""
    with open(log, "ab") as output:
        relay = subprocess.Popen([str(Path(sys.executable).with_name("cpu")), "relay"], cwd=ROOT,
                                 env={**env, "CPU_RELAY_INTERVAL": "0.1"}, stdout=output, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        yield
    finally:
        relay.terminate()
        try:
            relay.wait(timeout=15)
        except subprocess.TimeoutExpired:
            relay.kill()


# --- the two runs ---------------------------------------------------------------------------

def flash_sale(port: int, buyers: list[Buyer]) -> tuple[float, list[Outcome]]:
    barrier = threading.Barrier(len(buyers) + 1)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    clients = [Client(port) for _ in buyers]

    def race(n: int) -> None:
        barrier.wait()
        outcome = check_out(clients[n], buyers[n])
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(buyers))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, outcomes


def sustained(port: int, buyers: list[Buyer], clients: int) -> tuple[float, list[Outcome]]:
    queue, lock, outcomes = iter(buyers), threading.Lock(), []

    def work() -> None:
        client = Client(port)
        while True:
            with lock:
                buyer = next(queue, None)
            if buyer is None:
                return
            outcome = check_out(client, buyer)
            with lock:
                outcomes.append(outcome)
                if len(outcomes) % 100 == 0:
                    print(f"   {len(outcomes)} checkouts settled", flush=True)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, outcomes


def figures(label: str, seconds: float, outcomes: list[Outcome]) -> float:
    settled = [o for o in outcomes if o.state not in ("unsettled",) and not o.state.startswith("http")]
    latencies = [o.seconds for o in settled]
    rate = len(settled) / seconds
    print(f"{label}: {len(settled)} settled in {seconds:.1f} s = {rate:.1f} checkouts/s; "
          f"p50 {milliseconds(latencies, 50)}, p99 {milliseconds(latencies, 99)}; "
          f"states {dict(Counter(o.state for o in outcomes))}; 503s retried {Client.refusals}; {load_average()}", flush=True)
    Client.refusals = 0
    return rate


# --- checks on the shards -------------------------------------------------------------------

def verify_flash_sale(router, outcomes: list[Outcome], units: int, variant_id: str) -> list[str]:
    wrong = []
    won = [o for o in outcomes if o.state == "completed"]
    lost = [o for o in outcomes if o.state == "failed"]
    if len(won) != units:
        wrong.append(f"{len(won)} checkouts completed, {units} units were on hand")
    if len(won) + len(lost) != len(outcomes):
        wrong.append(f"{len(outcomes) - len(won) - len(lost)} checkouts neither completed nor failed")
    unclear = [o for o in lost if "Out of stock." not in o.reasons]
    if unclear:
        wrong.append(f"{len(unclear)} failed checkouts do not say out of stock: {unclear[0].reasons}")
    orders: Counter = Counter()
    order_checkouts: Counter = Counter()
    for region in router.regions.region_codes:
        with router.unit_of_work(region, read_only=True) as uow:
            for state, checkout_id in uow.session.execute(select(MerchantOrder.state, MerchantOrder.checkout_id)):
                orders[state] += 1
                order_checkouts[checkout_id] += 1
            held = uow.session.scalar(select(func.count()).select_from(Reservation).where(Reservation.status == HELD))
            if held:
                wrong.append(f"{held} reservations still held in {region}")
    if orders["paid"] != units:
        wrong.append(f"{orders['paid']} paid merchant orders across all shards, expected {units}: {dict(orders)}")
    if {o.checkout_id for o in won} - set(order_checkouts) or any(n > 1 for n in order_checkouts.values()):
        wrong.append("a winning checkout has no merchant order, or one has two")
    with router.unit_of_work("kin", read_only=True) as uow:
        per_buyer = Counter(uow.session.scalars(select(Checkout.buyer_id)))
        level = uow.session.execute(select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
                                    .where(StockLevel.variant_id == variant_id)).one()
    if len(per_buyer) != len(outcomes) or max(per_buyer.values()) != 1:
        wrong.append(f"{sum(per_buyer.values())} checkouts for {len(per_buyer)} buyers (one each expected)")
    if tuple(level) != (0, 0):
        wrong.append(f"the variant's stock is {tuple(level)} (on hand, reserved), expected (0, 0)")
    return wrong


def pgbench_tps(admin_url: str, clients: int) -> float:
    """TPC-B (pgbench's default script) on a scratch database of the same server."""
    database = f"bench_{secrets.token_hex(4)}_tpcb"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
        done = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", "15", url], check=True,
                              capture_output=True, text=True)
        return float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- the command ----------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=500, help="buyers racing in the flash sale (default 500)")
    parser.add_argument("--units", type=int, default=100, help="units on hand for the flash sale (default 100)")
    parser.add_argument("--spread-buyers", type=int, default=600, help="checkouts of the sustained run (default 600)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent buyers of the sustained run (default 16)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args(argv)
    if args.units > args.buyers:
        parser.error("--units must not exceed --buyers: the race needs losers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"flash sale: {args.buyers} buyers for {args.units} units; sustained: {args.spread_buyers} checkouts, "
          f"{args.clients} at a time; gunicorn {args.workers} x {args.threads}; {load_average()}", flush=True)
    wrong: list[str] = []
    with tempfile.TemporaryDirectory() as workdir, postgres_databases(args.postgres_url) as dbs:
        settings = {**app_settings(Path(workdir) / "instance", dbs.template), "CPU_SECRET_KEY": SECRET_KEY}
        with migrated_router(settings) as router:
            print("1. setting up: merchants, products, buyers ...", flush=True)
            flash_merchant, [flash_variant] = open_shop(router, "kin", "JM", products=1, units=args.units)
            racers = sign_up_buyers(router, args.buyers, ["JM"], "flash")
            shops = {region: open_shop(router, f"{region}-spread", country, products=9 if region != "kin" else 5,
                                       units=100_000) for region, country in SHOPS.items()}
            spread_variants = [(merchant, variant) for merchant, variants in shops.values() for variant in variants][:50]
            spreaders = sign_up_buyers(router, args.spread_buyers, list(SHOPS.values()), "spread")
            env = server_env(settings)
            with relay_process(env, Path(workdir) / "relay.log"), \
                    gunicorn("wsgi:app", workers=args.workers, threads=args.threads, env=env,
                             log=Path(workdir) / "gunicorn.log", check_path="/healthz") as port:
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda b: fill_cart(port, b, flash_merchant, flash_variant), racers))
                    list(pool.map(lambda nb: fill_cart(port, nb[1], *spread_variants[nb[0] % len(spread_variants)]),
                                  enumerate(spreaders)))
                print(f"2. the flash sale: {len(racers)} buyers at once ...", flush=True)
                seconds, outcomes = flash_sale(port, racers)
                figures("flash sale", seconds, outcomes)
                wrong += verify_flash_sale(router, outcomes, args.units, flash_variant)
                print("   checked on every shard: " + ("; ".join(wrong) if wrong else
                      f"exactly {args.units} sold, {args.buyers - args.units} told out of stock, no order twice or lost"))
                print(f"3. sustained: {len(spreaders)} checkouts over 50 variants in six regions ...", flush=True)
                seconds, outcomes = sustained(port, spreaders, args.clients)
                rate = figures("sustained", seconds, outcomes)
                p99 = percentile(sorted(o.seconds for o in outcomes if o.state == "completed"), 99) or float("inf")
                not_completed = [o for o in outcomes if o.state != "completed"]
                if not_completed:
                    wrong.append(f"{len(not_completed)} sustained checkouts did not complete: {not_completed[0].state} "
                                 f"{not_completed[0].reasons}")
            print("4. baseline: pgbench TPC-B on the same server ...", flush=True)
            tps = pgbench_tps(args.postgres_url, args.clients)
            print(f"pgbench TPC-B: {tps:.0f} tps ({args.clients} clients); {load_average()}")
            print(f"sustained checkouts/s / TPC-B tps = {rate / tps:.3f} (goal 0.25: {'met' if rate / tps >= 0.25 else 'MISSED'}); "
                  f"p99 {p99 * 1000:.0f} ms (goal 250 ms: {'met' if p99 < 0.25 else 'MISSED'})")
    for line in wrong:
        print("WRONG: " + line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
