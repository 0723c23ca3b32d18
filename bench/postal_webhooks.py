"""Postal tracking webhooks under load: events/s through POST /webhooks/postal, with a worker
killed mid-run, and proof that no event was lost or applied twice.

Why: the member operators push every tracking event of every parcel; the endpoint must keep
up (goal: 3,000 events/s in batches of 100) and must not lose or double an event when a
server process dies under it, which is what operators' retries and our (operator, event id)
receipts promise.

Run by hand from the repository root (it needs a PostgreSQL server, nothing else):

    .venv/bin/python bench/postal_webhooks.py [--events 100000] [--batch 100] [--senders 8]

It creates its own databases (bench/router.py), migrates them, gives one Jamaican merchant
(region kin) --events / 10 shipped orders of one parcel each, addressed to Trinidad (so both
operators are at an end of every parcel and either may deliver it), and starts gunicorn (`wsgi:app`, --workers x
--threads) on them. First the baseline: GET /healthz req/s on the same server. Then
--events events (each parcel's ten, EMA to EMI by event time, shuffled, so most arrive out of order;
half sent by Jamaica's operator, received in kin, half by Trinidad's, received in pos and
handed to kin), signed, in batches sent by --senders threads in a separate process. A batch
that gets no 202 (the killed worker's) is sent again, as operators do. Midway one worker is
killed with SIGKILL; gunicorn starts another. Then the relay delivers every postal.events
event to kin, and the bench counts: receipts (kin + pos) and timeline rows (kin) must both
equal --events (none lost, none applied twice) and every parcel and order must be delivered;
it also says how many events of the re-sent batches were new (their first try never committed)
and how many were answered `duplicate` (it had).

Figures: events/s received (the HTTP part, the goal's figure) next to /healthz req/s, and
events/s applied by the relay (one process). Both share the 2 cores with PostgreSQL and the
load generator, so compare the ratio, not the absolute figures, between runs. The CPU time
per event, of the gunicorn workers while receiving and of the relay while applying, depends
much less on what else the machine runs: compare that between runs on a busy machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadgen import gunicorn, load, server_env  # noqa: E402
from router import DEFAULT_POSTGRES, app_settings, migrated_router, postgres_databases, print_load_average  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from logistics import s10  # noqa: E402
from logistics.models import PostalReceipt, Shipment, TrackingEvent  # noqa: E402
from marketplace import config  # noqa: E402
from marketplace.orders.models import MerchantOrder  # noqa: E402
from marketplace.webhooks import signing  # noqa: E402

CODES = ("EMA", "EMB", "EMC", "EMD", "EME", "EMF", "EMG", "EMH", "EMG", "EMI")  # a parcel's ten events, by event time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="a multiple of 10: ten events per parcel")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=8, help="concurrent HTTP connections sending batches")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args(argv)
    print_load_average("at start")
    with tempfile.TemporaryDirectory() as workdir, postgres_databases(args.postgres_url) as databases:
        # A busy shared machine: connections and a batch's statements are given more time than
        # production's defaults, so a slow moment is measured as slow, not as a failed request.
        settings = {**app_settings(Path(workdir) / "instance", databases.template),
                    "CPU_DB_CONNECT_TIMEOUT": "10", "CPU_DB_REQUEST_DEADLINE": "5"}
        with migrated_router(settings) as router:
            numbers = seed(router, args.events // len(CODES))
        batches = make_batches(numbers, args.batch)
        env = server_env({**settings, "CPU_SCHEMA_CHECK": "true"})
        log = Path(workdir) / "gunicorn.log"
        with gunicorn("wsgi:app", workers=args.workers, threads=args.threads, env=env, log=log,
                      check_path="/healthz") as port:
            healthz = load(port, ["/healthz"], seconds=10, connections=args.senders)
            print(f"GET /healthz: {healthz.rps:,.0f} req/s ({args.workers} workers x {args.threads} threads)")
            received, seconds, retried, cpu_seconds = send_all(port, batches, args.senders)
        rate = args.events / seconds
        print(f"received {args.events:,} events in {seconds:.1f} s: {rate:,.0f} events/s "
              f"({rate / args.batch:,.1f} batches/s) vs /healthz {healthz.rps:,.0f} req/s "
              f"(ratio batches/s : healthz req/s {rate / args.batch / healthz.rps:.4f}); goal 3,000 events/s "
              f"{'met' if rate >= 3000 else 'NOT met'}; gunicorn workers' CPU {cpu_seconds / args.events * 1e6:,.0f} µs "
              f"per event", flush=True)
        print_load_average("after sending")
        report_apply(settings, numbers, args.events, received, retried)
        print_load_average("at end")
    return 0


def seed(router, parcels: int) -> list[str]:
    """`parcels` shipped orders of a Jamaican merchant in kin, one handed-over parcel each."""
    from marketplace.merchants import accounts
    from marketplace.regions.ids import new_id

    owner = accounts.sign_up(router=router, trading_name="Bench Post", legal_name="Bench Post Ltd", home_country="JM",
                             email="owner@bench-post.example", password="bench password", handle="bench-post")
    now = datetime.now(UTC)
    with router.unit_of_work("kin") as uow:
        numbers = [s10.issue(uow.session, country="JM", service="registered_parcel") for _ in range(parcels)]
        orders = [MerchantOrder(id=new_id("ord"), region="kin", merchant_id=owner.merchant_id, checkout_id=new_id("chk"),
                                buyer_region="kin", state="shipped", currency="JMD", goods_amount=100,
                                shipping_amount=100, total_amount=200, lines=[], created_at=now, updated_at=now,
                                ship_to={"recipient": "R", "city": "Port of Spain", "country": "TT"}) for _ in numbers]
        uow.session.add_all(orders)
        uow.session.flush()
        uow.session.add_all([Shipment(id=new_id("shp"), region="kin", merchant_id=owner.merchant_id, order_id=order.id,
                                      kind="outbound", tracking_number=number, service="registered_parcel", weight_g=500, sender={},
                                      addressee={}, state="handed_over", created_at=now)
                             for order, number in zip(orders, numbers)])
        uow.commit()
    return numbers


def make_batches(numbers: list[str], size: int) -> list[tuple[str, bytes, list[str]]]:
    """(operator, body, event ids) per batch: every parcel's ten events (EMI, delivered, the
    latest by event time), shuffled across batches so most arrive out of order."""
    start, rng, all_events = datetime(2026, 12, 1, tzinfo=UTC), random.Random(7), []
    for p, number in enumerate(numbers):
        for step, code in enumerate(CODES):
            all_events.append({"event_id": f"bench-{p}-{step}", "tracking_number": number, "code": code,
                               "office": "JMKINX", "occurred_at": (start + timedelta(hours=step)).isoformat()})
    rng.shuffle(all_events)
    batches = []
    for i in range(0, len(all_events), size):
        chunk = all_events[i:i + size]
        batches.append(("jm" if (i // size) % 2 == 0 else "tt", json.dumps({"events": chunk}).encode(),
                        [e["event_id"] for e in chunk]))
    return batches


def send_all(port: int, batches, senders: int) -> tuple[Counter, float, list, float]:
    """Send every batch (in a separate process, so the client shares no GIL with this one),
    kill one worker midway; (result counts, seconds, retried batches' event ids, CPU seconds
    the workers spent, the killed one's up to its death included)."""
    secrets = config.load({}, environ={}).postal_secrets
    queue: multiprocessing.Queue = multiprocessing.Queue()
    progress = multiprocessing.Value("i", 0)
    child = multiprocessing.Process(target=_send_process, args=(port, batches, senders, secrets, queue, progress))
    before = workers_cpu(port)
    started = time.perf_counter()
    child.start()
    while progress.value < len(batches) // 2 and child.is_alive():
        time.sleep(0.05)
    at_kill = workers_cpu(port)
    killed = kill_one_worker(port)
    print(f"killed worker {killed} after {progress.value} of {len(batches)} batches")
    counts, retried = queue.get()
    child.join()
    seconds = time.perf_counter() - started
    after = {**workers_cpu(port), killed: at_kill.get(killed, 0.0)}
    return Counter(counts), seconds, retried, sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _send_process(port, batches, senders, secrets, queue, progress) -> None:
    work, lock = list(enumerate(batches)), threading.Lock()
    counts, retried = Counter(), []

    def sender():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not work:
                    return
                _, (operator, body, ids) = work.pop()
            attempts = 0
            while True:
                attempts += 1
                headers = {"Content-Type": "application/json", "CPU-Postal-Operator": operator,
                           signing.HEADER: signing.header(secrets[operator], int(time.time()), body)}
                try:
                    connection.request("POST", "/webhooks/postal", body=body, headers=headers)
                    response = connection.getresponse()
                    answer = response.read()
                    if response.status == 202:
                        break
                except (OSError, http.client.HTTPException):
                    pass
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                time.sleep(0.05)
            results = json.loads(answer)["results"]
            with lock:
                counts.update(r["status"] for r in results)
                if attempts > 1:
                    retried.append(([r["status"] for r in results], ids))
                progress.value += 1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((dict(counts), retried))


def kill_one_worker(port: int) -> int:
    """SIGKILL one of the gunicorn workers serving `port` (its master starts another)."""
    serving = [pid for pid in _pids() if f"127.0.0.1:{port}" in _cmdline(pid)]
    master = next(pid for pid in serving if _ppid(pid) not in serving)
    worker = next(pid for pid in serving if _ppid(pid) == master)
    os.kill(worker, signal.SIGKILL)
    return worker


def workers_cpu(port: int) -> dict[int, float]:
    """CPU seconds (user + system) of each gunicorn worker serving `port`, so far."""
    serving = [pid for pid in _pids() if f"127.0.0.1:{port}" in _cmdline(pid)]
    return {pid: _cpu_seconds(pid) for pid in serving if _ppid(pid) in serving}


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def report_apply(settings: dict, numbers: list[str], events: int, received: Counter, retried: list) -> None:
    from marketplace.app import create_app

    os.environ["FLASK_RUN_FROM_CLI"] = "true"  # no relay thread, no schema wait: this process only drains
    app = create_app({**settings, "CPU_LOG_LEVEL": "ERROR"})
    platform = app.extensions["cpu"]
    started, cpu_started = time.perf_counter(), time.process_time()
    stats = platform.relay().drain(max_batches=1_000_000)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    router = platform.router
    with router.unit_of_work("kin", read_only=True) as uow:
        timeline = uow.session.scalar(select(func.count()).select_from(TrackingEvent))
        distinct = uow.session.scalar(select(func.count(func.distinct(TrackingEvent.event_id))))
        states = Counter(uow.session.scalars(select(Shipment.state)))
        orders = Counter(uow.session.scalars(select(MerchantOrder.state)))
    receipts = 0
    for region in ("kin", "pos"):
        with router.unit_of_work(region, read_only=True) as uow:
            receipts += uow.session.scalar(select(func.count()).select_from(PostalReceipt))
    resent_not_duplicate = sum(1 for statuses, _ in retried for s in statuses if s != "duplicate")
    print(f"answers: {dict(received)}; batches sent again after no 202: {len(retried)} "
          f"({resent_not_duplicate} of their events were new, i.e. the first try had not committed)")
    print(f"relay: {stats} in {seconds:.1f} s, "
          f"{timeline / seconds:,.0f} events/s applied, relay CPU {cpu_seconds / events * 1e6:,.0f} µs per event")
    lost, twice = events - receipts, timeline - distinct
    print(f"receipts {receipts:,}, timeline rows {timeline:,} (distinct {distinct:,}) of {events:,} sent: "
          f"lost {lost + (events - timeline)}, applied twice {twice}; parcels {dict(states)}, orders {dict(orders)}")
    assert receipts == timeline == distinct == events, "lost or doubled events"
    assert states == orders == Counter({"delivered": len(numbers)})


if __name__ == "__main__":
    sys.exit(main())
