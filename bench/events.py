"""Events between data centers through the broker, measured against the broker itself.

Why: an event committed in one region's outbox travels relay -> its region's JetStream
stream -> the other data center's inbound stream (sourced over a leafnode) -> a durable pull
consumer -> the consumer's inbox transaction. What that whole path costs over the broker's
own publish-to-consume path should be known, not guessed.

Run by hand from the repository root (needs nats-server; PostgreSQL for `--postgres`):

    .venv/bin/python bench/events.py [--events 2000] [--rate 200] [--repeat 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

It starts two linked nats-servers (domains `kin` and `sdq`, a leafnode between them, storage
in a temporary directory) and shards: SQLite files in the same directory, or fresh databases
on the `--postgres` server (dropped after). Every run starts on emptied streams. It measures:

1. throughput, `--repeat` pairs of runs, app then baseline, medians shown (the machine is
   shared, and a load that comes and goes then weighs on both alike): `--events` committed to
   kin's outbox before the relay starts (a backlog, as after a pause or a cut link), events
   per second from the relay's start to the last one applied in `sdq`; the baseline publishes
   as many from its first publish. The same for the app while one producer commits the
   events one per transaction is shown too, with that producer's own commit rate: on
   PostgreSQL here it, not the path, is what caps that figure;
2. latency: events committed at `--rate` per second (paced, so queueing from a burst does not
   hide the path's own cost), p50/p99 from commit to applied in `sdq`.

Baseline: raw nats-py on the same servers, streams and sourcing, without databases, sending
as the relay does: a batch of BATCH published at once, then its acknowledgements awaited, to
kin's stream (paced: one at a time); read from sdq's inbound stream by a pull consumer that
fetches BATCH and acks each message. Its producer and consumer share one asyncio loop. App:
`outbox.publish` in a kin unit of work, the relay (a thread for kin, at the app's own
interval, woken by commits), an `everywhere` consumer in sdq applying through its inbox. kin's
relay runs in this process and sdq's consumers in a child process, as they would in two data
centers (in one process they would share one interpreter lock). The header prints the load
average; compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nats  # noqa: E402
from nats.js import api  # noqa: E402
from nats.js.errors import NotFoundError  # noqa: E402

from marketplace import config  # noqa: E402
from marketplace.events.broker import BrokerTransport, durable_name, inbound_name, stream_name  # noqa: E402
from marketplace.regions import outbox, regionmap, schema  # noqa: E402
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy  # noqa: E402
from marketplace.regions.router import Router  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.nats import NatsServer  # noqa: E402

TOPIC = "bench.tick"
CONSUMER = "bench.apply"
PEERS = ["kin", "sdq"]
BATCH = 500  # the relay's claim and the consumers' fetch, and the baseline's publish and fetch
ENVELOPE_BYTES = 260  # about the size of a bench event's envelope: the baseline sends as many bytes


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def baseline(kin: NatsServer, sdq: NatsServer, count: int, rate: float | None) -> tuple[float, list[float]]:
    """Raw nats-py: publish with ack into kin's stream, pull from sdq's inbound stream."""
    producer, consumer = await nats.connect(kin.url), await nats.connect(sdq.url)
    pjs, cjs = producer.jetstream(), consumer.jetstream()
    durable = f"baseline_{os.getpid()}_{int(time.time() * 1000)}"
    await cjs.add_consumer(inbound_name("sdq"), api.ConsumerConfig(
        durable_name=durable, ack_policy=api.AckPolicy.EXPLICIT, filter_subject="cpu.events.kin.raw",
        deliver_policy=api.DeliverPolicy.NEW))
    pull = await cjs.pull_subscribe_bind(durable, inbound_name("sdq"))
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def consume():
        while len(latencies) < count:
            try:
                for message in await pull.fetch(BATCH, timeout=1):
                    latencies.append(time.monotonic() - sent[message.headers["Nats-Msg-Id"]])
                    await message.ack()
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                pass

    reading = asyncio.create_task(consume())
    start = time.monotonic()
    payload = b"x" * ENVELOPE_BYTES
    for first in range(0, count, 1 if rate else BATCH):  # paced: one at a time, as the relay then finds them
        acks = []
        for n in range(first, min(count, first + (1 if rate else BATCH))):
            msg_id = f"raw-{durable}-{n}"
            sent[msg_id] = time.monotonic()
            acks.append(await pjs.publish_async("cpu.events.kin.raw", payload, headers={"Nats-Msg-Id": msg_id}))
        await asyncio.wait_for(asyncio.gather(*acks), timeout=5)
        if rate:
            await asyncio.sleep(max(0.0, start + (first + 1) / rate - time.monotonic()))
    await asyncio.wait_for(reading, timeout=120)
    elapsed = time.monotonic() - start
    await producer.close()
    await consumer.close()
    return count / elapsed, latencies


def sdq_consumers(shards: dict[str, str], sdq_url: str, count: int, results) -> None:
    """The sdq data center's consumer process: applies `count` events, reports when each was applied."""
    router = bench_router(shards)
    applied: dict[str, float] = {}
    done = threading.Event()

    def apply(envelope) -> None:
        applied.setdefault(envelope.event_id, time.monotonic())  # CLOCK_MONOTONIC: one clock for every process
        if len(applied) >= count:
            done.set()

    receiving = HandlerRegistry()
    receiving.consumer(CONSUMER, TOPIC, everywhere=True)(apply)
    sdq_side = BrokerTransport(router, receiving, url=sdq_url, policy=RelayPolicy(batch_size=BATCH), regions=["sdq"],
                               peers=PEERS)
    stop = threading.Event()
    consuming = threading.Thread(target=sdq_side.consume, args=(stop, ["sdq"]), daemon=True)
    consuming.start()
    results.put("ready")
    done.wait(timeout=180)
    stop.set()
    consuming.join(timeout=10)
    sdq_side.close()
    router.dispose()
    results.put(applied)


def app_run(shards: dict[str, str], kin: NatsServer, sdq: NatsServer, count: int, rate: float | None, *,
            backlog: bool = False) -> tuple[float, float, list[float]]:
    """kin's relay in this process, sdq's consumers in another, as in two data centers. Answers
    events per second (from the first commit, or with `backlog` from the relay's start, to the
    last applied), the producer's own commits per second, and each event's commit-to-applied
    latency. With `backlog` every event is committed before the relay starts (a relay back
    from a pause, or a link back from a cut): the path's own pace, not the producer's."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    consumers = spawn.Process(target=sdq_consumers, args=(shards, sdq.url, count, results))
    consumers.start()
    if results.get(timeout=60) != "ready":
        raise SystemExit("the sdq consumer process did not start")
    router = bench_router(shards)
    sending = HandlerRegistry()
    sending.announce(TOPIC)
    policy = RelayPolicy(batch_size=BATCH)
    kin_side = BrokerTransport(router, sending, url=kin.url, policy=policy, regions=["kin"], peers=PEERS)
    kin_side.connect()
    stop = threading.Event()
    relaying = threading.Thread(target=Relay(router, sending, transport=kin_side, policy=policy).run_forever,
                                args=(stop, router.settings.relay_interval, ["kin"]), daemon=True)
    if not backlog:
        relaying.start()
    committed: dict[str, float] = {}
    start = time.monotonic()
    for n in range(count):
        with router.unit_of_work("kin") as uow:
            event_id = outbox.publish(uow.session, TOPIC, {"n": n})
            uow.commit()
        committed[event_id] = time.monotonic()
        if rate:
            time.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
    commit_rate = count / (time.monotonic() - start)
    if backlog:
        start = time.monotonic()
        relaying.start()
    applied = results.get(timeout=240)
    consumers.join(timeout=30)
    stop.set()
    relaying.join(timeout=10)
    kin_side.close()
    router.dispose()
    missing = set(committed) - set(applied)
    if missing:
        raise SystemExit(f"{len(missing)} of {count} events were not applied")
    return count / (max(applied.values()) - start), commit_rate, [applied[i] - committed[i] for i in committed]


def bench_router(shards: dict[str, str]) -> Router:
    settings = config.load({**shards, "CPU_RELAY_IN_PROCESS": "false", "CPU_LOG_LEVEL": "ERROR"})
    return Router(settings, regionmap.load(settings.regions_file))


@dataclass
class Figures:
    backlog: list[float] = field(default_factory=list)  # events/s, the app through a committed backlog
    raw: list[float] = field(default_factory=list)  # events/s, the baseline, each measured right after one of those
    live: float = 0.0  # events/s, the app while one producer commits
    commits: float = 0.0  # that producer's own commits per second
    app_latency: list[float] = field(default_factory=list)
    raw_latency: list[float] = field(default_factory=list)


def measure(args, kin: NatsServer, sdq: NatsServer, shards: dict[str, str]) -> Figures:
    """The application and the broker baseline, on the same servers and streams; throughput in
    `--repeat` pairs (app, then baseline), so that a load that comes and goes on the machine
    weighs on both alike."""
    router = bench_router(shards)
    try:
        schema.upgrade_all(router, report=lambda _line: None)
        for region, server in (("kin", kin), ("sdq", sdq)):  # both data centers' streams, before anything flows
            provisioning = BrokerTransport(router, HandlerRegistry(), url=server.url, policy=RelayPolicy(),
                                           regions=[region], peers=PEERS)
            provisioning.connect()
            provisioning.close()
    finally:
        router.dispose()
    figures = Figures()
    fresh = lambda: asyncio.run(empty_streams(kin, sdq))  # noqa: E731  (each run on empty streams: none reads another's)
    for _ in range(args.repeat):
        fresh()
        figures.backlog.append(app_run(shards, kin, sdq, args.events, None, backlog=True)[0])
        fresh()
        figures.raw.append(asyncio.run(baseline(kin, sdq, args.events, None))[0])
    fresh()
    figures.live, figures.commits, _ = app_run(shards, kin, sdq, args.events, None)
    paced = max(200, args.events // 4)
    fresh()
    figures.app_latency = app_run(shards, kin, sdq, paced, args.rate)[2]
    fresh()
    figures.raw_latency = asyncio.run(baseline(kin, sdq, paced, args.rate))[1]
    return figures


async def empty_streams(kin: NatsServer, sdq: NatsServer) -> None:
    """kin's stream and sdq's inbound stream emptied, and the app's durable consumer gone (the
    next app run declares it again): a run never reads what an earlier one sent."""
    for server, stream in ((kin, stream_name("kin")), (sdq, inbound_name("sdq"))):
        connection = await nats.connect(server.url)
        try:
            await connection.jetstream().purge_stream(stream)
            if server is sdq:
                try:
                    await connection.jetstream().delete_consumer(stream, durable_name(CONSUMER, "sdq"))
                except NotFoundError:
                    pass
        finally:
            await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second in the latency run")
    parser.add_argument("--repeat", type=int, default=3, help="throughput pairs (app, baseline); medians are shown")
    parser.add_argument("--postgres", metavar="URL", help="shards on this PostgreSQL server (fresh databases, dropped "
                        "after), e.g. postgresql://postgres@127.0.0.1:5432/postgres; default: SQLite files")
    args = parser.parse_args()
    load = lambda: " ".join(f"{v:.2f}" for v in os.getloadavg())  # noqa: E731
    print(f"load average {load()} on {os.cpu_count()} cores; shards on {'PostgreSQL' if args.postgres else 'SQLite'}")
    with tempfile.TemporaryDirectory(prefix="bench-events-") as root:
        kin = NatsServer(Path(root), "kin").start()
        sdq = NatsServer(Path(root), "sdq", hub=kin).start()
        opened = (databases.postgres_databases(args.postgres) if args.postgres
                  else nullcontext(databases.sqlite_config(Path(root) / "instance")))
        try:
            with opened as overrides:
                f = measure(args, kin, sdq, overrides)
        finally:
            sdq.stop()
            kin.stop()
    ms = lambda values, p: 1000 * percentile(values, p)  # noqa: E731
    app, raw = statistics.median(f.backlog), statistics.median(f.raw)
    ratios = [a / r for a, r in zip(f.backlog, f.raw)]
    print(f"load average {load()} at the end")
    print(f"{'':<34}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'broker baseline (raw nats-py)':<34}{raw:>10.0f}{ms(f.raw_latency, 50):>9.1f}{ms(f.raw_latency, 99):>9.1f}"
          f"   (runs: {', '.join(f'{r:.0f}' for r in f.raw)})")
    print(f"{'outbox -> relay -> sdq consumer':<34}{app:>10.0f}{ms(f.app_latency, 50):>9.1f}{ms(f.app_latency, 99):>9.1f}"
          f"   (a committed backlog; runs: {', '.join(f'{r:.0f}' for r in f.backlog)})")
    print(f"{'  while one producer commits':<34}{f.live:>10.0f}{'':>18}   (its own commits alone: {f.commits:.0f}/s)")
    print(f"ratio app/baseline: throughput {app / raw:.2f} (goal >= 0.5; pairs {min(ratios):.2f}..{max(ratios):.2f}; "
          f"{f.live / raw:.2f} while one producer commits), p99 {ms(f.app_latency, 99):.1f} ms (goal < 100 ms); "
          f"mean latency {1000 * statistics.mean(f.app_latency):.1f} ms")


if __name__ == "__main__":
    main()
