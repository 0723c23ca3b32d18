"""The hurricane drill of issue 10, on the topology (tests/topology/conftest.py): one region's
database really goes away, three ways, each for 60 s under a bounded load over all regions
through the public edges (tests/topology/load.py):

- stopped: `pg_ctl stop -m immediate` on its private server, and its nats-server stopped too
  (the data center's broker link is gone);
- frozen: SIGSTOP to the postmaster and every backend (connections open, nothing answers);
- firewalled: every packet to its port dropped by an iptables rule.

What must hold, each time: the other five regions answer every request, with p50 and p95 within
20 % of the baseline measured just before (or 20 ms, for latencies that small: see load.FLOOR);
each request for the drilled region is a 503 with Retry-After naming the region (problem+json on
the API) in under 1 s; the renames a Kingston merchant makes meanwhile (each a `merchant.renamed`
event, key: the merchant) reach the drilled region through the brokers once it is back, all of
them, once each, in order, none parked; and its server, relay and consumer processes are the same
processes as before, serving and relaying again.

Repeat with the region holding the directory's writable copy: see DIRECTORY_SCENARIO below."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest

from marketplace.regions.router import DIRECTORY
from tests.support import heap
from tests.support.merchants import registration
from tests.support.processes import request
from tests.topology.conftest import DRILLED, HOME_COUNTRIES, HUB, REGIONS, report, shard_key
from tests.topology.load import FLOOR, Figures, Load, Sample, within
from tests.topology.parties import mirrored, register, rename, renamed_events
from tests.topology.test_six_regions import assert_each_shard_reached_only_from_its_region

WARM_UP_SECONDS = 5.0
# A 10 s baseline held ~136 requests for the other regions, so its p95 was the 7th slowest of them:
# one busy moment of the machine moved it, and a fresh-clone run failed the 20 % rule on that
# (p95 26 -> 47 ms, with nothing slower by entry or region). 30 s holds ~400.
BASELINE_SECONDS = 30.0
FAULT_SECONDS = 60.0
RENAME_EVERY = 2.0  # seconds between the Kingston merchant's renames during the fault
FAULTS = ("stopped", "frozen", "firewalled")

# The directory scenario, left out of the run on purpose (not xfailed): today the directory is
# one database every region needs for routing, sign-in and every cache miss, so its outage
# stops all six regions, as issue 10 says. Once each region keeps its own copy (CPU_DIRECTORY_URL
# per region, pointers replicated as events, names arbitrated per region), the drilled region's
# directory copy goes on its private server with its shard, the drilled region becomes an
# arbiter, and DIRECTORY_SCENARIO turns true: the same drill then also proves that sign-ups
# and sign-ins in the other five keep working while the arbiter is away.
DIRECTORY_SCENARIO = False
SCENARIOS = ("region", "directory") if DIRECTORY_SCENARIO else ("region",)


@pytest.fixture
def steady_heap():
    """The load and the sign-up tries are timed from this process (see tests/support/heap.py)."""
    with heap.steady():
        yield


@pytest.fixture(scope="module")
def merchants(topology, tmp_path_factory, request):
    """A merchant in every region, each registered through the next region's edge; and the
    Kingston merchant whose renames are the events the drilled region must receive."""
    if not DIRECTORY_SCENARIO:
        report(request.config, "directory scenario not run: the directory is still one database all six regions "
                             "need (see DIRECTORY_SCENARIO in tests/topology/test_hurricane_drill.py)")
    folder = tmp_path_factory.mktemp("drill-keys")
    shops = {region: register(topology.edges[REGIONS[(n + 1) % len(REGIONS)]], region,
                              f"Drill {region.upper()} Provisions", urls=topology.urls, folder=folder)
             for n, region in enumerate(REGIONS)}
    publisher = register(topology.edges[HUB], HUB, "Drill Kingston Renamer", urls=topology.urls, folder=folder)
    Load(topology.edges, shops).run(WARM_UP_SECONDS)  # caches and pools filled: the first baseline is not a cold start
    return shops, publisher


class Every:
    """Calls `action` (which answers an HTTP status) every `seconds` until stopped; None: never."""

    def __init__(self, seconds: float, action):
        self.seconds, self.action = seconds, action
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Every:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while self.action is not None and not self._stop.wait(self.seconds if self.statuses else 0):
            self.statuses.append(self.action())


def _renames(topology, merchant: dict) -> Every:
    """The Kingston merchant renames its shop every RENAME_EVERY seconds: one event each."""
    return Every(RENAME_EVERY, lambda: rename(topology.edges[HUB], merchant, f"Drill Kingston Renamer {time.time_ns()}")[0])


def _sign_ups(topology, scenario: str) -> Every:
    """In the directory scenario, a new merchant every few seconds in each other region in
    turn, through its own edge: marketplace-wide names must keep working while the arbiter is away."""
    others = itertools.cycle([region for region in REGIONS if region != DRILLED])

    def sign_up() -> int:
        region = next(others)
        body = registration(f"Drill Sign Up {region} {time.time_ns()}", HOME_COUNTRIES[region])
        return request(topology.edges[region], "POST", "/api/v1/merchants", body=json.dumps(body).encode(),
                       headers={"Content-Type": "application/json"})[0]

    return Every(3.0, sign_up if scenario == "directory" else None)


class RetriedSignUp:
    """A sign-up for the drilled region with one Idempotency-Key, sent as the region drops and
    again while it is away (each must be a quick 503), then once it is back (must open the
    account): the key the refusals left behind must not block the retry."""

    def __init__(self, topology, mode: str):
        self.port = topology.edges[HUB]
        self.body = json.dumps(registration(f"Drill Retried {mode} {time.time_ns()}", HOME_COUNTRIES[DRILLED])).encode()
        self.headers = {"Content-Type": "application/json", "Idempotency-Key": f"drill-{mode}-{time.time_ns()}"}
        self.answers: list[tuple[int, float]] = []

    def send(self) -> int:
        started = time.monotonic()
        status, _headers, answer = request(self.port, "POST", "/api/v1/merchants", body=self.body, headers=self.headers)
        self.answers.append((status, time.monotonic() - started))
        self.last = answer
        return status


class Fault:
    """One way the drilled region goes away, and comes back: its database server (in the
    directory scenario also the one holding the directory's writable copy) and, when stopped,
    its data center's nats-server."""

    def __init__(self, mode: str, topology, scenario: str):
        self.mode, self.broker = mode, topology.brokers[DRILLED]
        self.clusters = [topology.clusters[DRILLED]]
        if scenario == "directory" and topology.clusters.get(DIRECTORY) is not None:
            self.clusters.append(topology.clusters[DIRECTORY])

    def __enter__(self) -> Fault:
        for cluster in self.clusters:
            {"stopped": cluster.stop, "frozen": cluster.freeze, "firewalled": cluster.firewall}[self.mode]()
        if self.mode == "stopped":
            self.broker.stop()
        return self

    def __exit__(self, *_exc) -> None:
        if self.mode == "stopped":
            self.broker.start()
        for cluster in self.clusters:
            {"stopped": cluster.start, "frozen": cluster.thaw, "firewalled": cluster.unfirewall}[self.mode]()


@dataclass
class Summary:
    scenario: str
    mode: str
    before: Figures
    during: Figures
    others_failed: int
    drilled: int
    drilled_503_max: float
    renames: int
    recovered_after: float
    delivered_after: float

    def lines(self) -> list[str]:
        return [f"{self.scenario}/{self.mode:<11} others: {self.during.count} requests, {self.others_failed} not 200; "
                f"p50 {self.before.p50 * 1000:.1f} -> {self.during.p50 * 1000:.1f} ms, "
                f"p95 {self.before.p95 * 1000:.1f} -> {self.during.p95 * 1000:.1f} ms (baseline {self.before.count})",
                f"{'':<{len(self.scenario) + 12}} {DRILLED}: {self.drilled} requests, 503 max {self.drilled_503_max * 1000:.0f} ms; "
                f"{self.renames} events from {HUB} delivered {self.delivered_after:.1f} s after; "
                f"serving again {self.recovered_after:.1f} s after"]


def _refusal_problems(samples: list[Sample]) -> list[str]:
    """What is wrong with the drilled region's answers during the fault."""
    problems = []
    for s in samples:
        if s.status != 503 or not s.headers.get("retry-after") or s.seconds >= 1.0 or DRILLED.encode() not in s.body:
            problems.append(f"{s.kind} via {s.entry}: {s.status} in {s.seconds:.2f} s, Retry-After "
                            f"{s.headers.get('retry-after')}, {s.body[:120]!r}")
        elif s.kind != "page":
            if s.headers.get("content-type") != "application/problem+json" or json.loads(s.body).get("region") != DRILLED:
                problems.append(f"{s.kind} via {s.entry}: not a problem naming {DRILLED}: {s.body[:120]!r}")
    return problems


def _until(what: str, check, timeout: float) -> float:
    """Seconds until `check()` holds; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.2)
    return time.monotonic() - started


def _serving(topology, merchant: dict) -> bool:
    return request(topology.edges[HUB], "GET", f"/api/v1/merchants/{merchant['id']}")[0] == 200


def _parked(topology, region: str) -> int:
    url = topology.urls[shard_key(region)].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, application_name=f"cpu-test-{region}", connect_timeout=2) as shard:
        return shard.execute("SELECT count(*) FROM consumer_deliveries WHERE parked_at IS NOT NULL").fetchone()[0]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", FAULTS)
def test_a_region_away_for_a_minute_stops_only_itself_and_gets_its_events_after(topology, merchants, mode, scenario,
                                                                               request, tmp_path, steady_heap):
    shops, publisher = merchants
    load = Load(topology.edges, shops)
    processes = {role: process.process.pid for role, process in topology.processes[DRILLED].items()}
    published_before = set(renamed_events(topology.urls, publisher))

    retried = RetriedSignUp(topology, mode)
    baseline = load.run(BASELINE_SECONDS)
    assert [s for s in baseline if s.status != 200] == [], "the topology was not healthy before the fault"
    with _renames(topology, publisher) as renames, _sign_ups(topology, scenario) as sign_ups:
        with Fault(mode, topology, scenario), Every(FAULT_SECONDS / 3, retried.send):
            during = load.run(FAULT_SECONDS)
    ended = time.monotonic()

    recovered = _until(f"{DRILLED} serving again", lambda: _serving(topology, shops[DRILLED]), 30)
    events = [e for e in renamed_events(topology.urls, publisher) if e not in published_before]
    delivered = _until(f"{len(events)} events from {HUB} applied in {DRILLED}",
                       lambda: set(mirrored(topology.urls, DRILLED, events)) == set(events), 90)

    others = [s for s in during if s.region != DRILLED]
    drilled = [s for s in during if s.region == DRILLED]
    before = Figures.of([s for s in baseline if s.region != DRILLED])
    summary = Summary(scenario, mode, before, Figures.of(others), sum(s.status != 200 for s in others), len(drilled),
                      max((s.seconds for s in drilled if s.status == 503), default=0.0), len(events), recovered,
                      time.monotonic() - ended)
    report(request.config, *summary.lines(), f"{'':<{len(scenario) + 12}} {DRILLED} sign-up tries: "
           + ", ".join(f"{status} in {seconds * 1000:.0f} ms" for status, seconds in retried.answers))
    _keep(tmp_path / f"{scenario}-{mode}.json", baseline, during)

    failed = [f"{s.region} {s.kind} via {s.entry}: {s.status} {s.body[:100]!r}" for s in others if s.status != 200]
    assert failed == [], f"{len(failed)} requests for the other regions failed: {failed[:5]}"
    assert within(before.p50, summary.during.p50) and within(before.p95, summary.during.p95), (
        f"the other regions slowed down beyond 20 % (or {FLOOR * 1000:.0f} ms): {summary.lines()[0]}")
    refusals = _refusal_problems(drilled)
    assert refusals == [], f"{len(refusals)} of {len(drilled)} answers for {DRILLED}: {refusals[:5]}"
    assert set(renames.statuses) == {200} and len(events) == len(renames.statuses), renames.statuses
    assert set(sign_ups.statuses) <= {201}, f"sign-ups in the other regions: {sign_ups.statuses}"
    assert mirrored(topology.urls, DRILLED, events) == events, "applied out of order, or twice"
    assert _parked(topology, DRILLED) == 0, f"deliveries parked in {DRILLED} because it was away"
    assert {role: p.process.pid for role, p in topology.processes[DRILLED].items()} == processes
    assert all(p.process.poll() is None for p in topology.processes[DRILLED].values()), "a process ended"
    # The first try goes out the moment the region drops, before anything has seen it go: its
    # admission and statements share one request budget (0.75 s), and the first request to find
    # the region away fails every other one waiting there at once. Every try is under 1 s.
    assert all(status == 503 and seconds < 1.0 for status, seconds in retried.answers), retried.answers
    assert retried.send() == 201 and json.loads(retried.last)["region"] == DRILLED, retried.last
    _assert_relays_again(topology, shops[DRILLED])
    assert_each_shard_reached_only_from_its_region(topology.watch, topology.region_databases)


def _keep(path, baseline: list[Sample], during: list[Sample]) -> None:
    """Every request's figures, for whoever looks into a failed run."""
    rows = [{"phase": phase, "region": s.region, "kind": s.kind, "entry": s.entry, "started": s.started,
             "seconds": s.seconds, "status": s.status} for phase, samples in (("before", baseline), ("during", during))
            for s in samples]
    path.write_text(json.dumps(rows))


def _assert_relays_again(topology, merchant: dict) -> None:
    """The drilled region's own relay and broker link work again: its event reaches Kingston."""
    assert rename(topology.edges[HUB], merchant, f"Drill {DRILLED.upper()} Provisions {time.time_ns()}")[0] == 200
    event = renamed_events(topology.urls, merchant)[-1]
    _until(f"{DRILLED}'s event applied in {HUB}", lambda: mirrored(topology.urls, HUB, [event]) == [event], 30)

