"""The transactional outbox and its relay.

A service announces a change by `publish`ing an event in the same transaction as the change:
both commit or neither does. Relays deliver committed events at least once to the handlers
registered for their topic; handlers must therefore be idempotent (the event id is the key).

Claiming is a lease: one short transaction marks a batch as this relay's until a deadline
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so relays side by side take different rows). A batch
still running at half its lease renews it for the events it has left. The
handlers then run outside any transaction, and each outcome is recorded in its own. A relay
that dies mid-batch leaves its claims to expire; another relay, or the same one restarted,
delivers them again. A handler that keeps failing is retried with exponential backoff and
then parked, visible to operators, until replayed; nothing is dropped.

A relay given a transport (marketplace.events.transports) hands each event's envelope to it
instead: to the named consumers' own queues in process, or to the region's broker, which
acknowledges it before the event counts as delivered. The consumers then apply it each on
their own (inbox, attempts, parking), so one failing consumer never re-runs the others.
Regions are relayed independently: `run_forever` runs a thread per region, so one region
that goes silent never delays another's events.

Fast without giving any of that up. A transport that can take many at once (`send_many`, the
broker) gets a batch's events together: all published, then every acknowledgement awaited,
and the delivered ones recorded in one statement that still refuses a lost lease. While a
full batch is on its way, `run_forever` records the previous batch and claims the next one
(its attempt counted as any claim's), so the database's round trips and the broker's overlap;
a relay that stops records what it sent and frees what it claimed ahead. Between passes it
waits for its interval or for a commit in this process that published events in its region
(`Commits`), whichever comes first.

Delivered events are kept for a while (RelayPolicy.retention, a week by default: long enough
to see what happened, and for the search index's catch-up), then pruned, or the tables would
grow for ever. Relays prune every hour; `cpu outbox prune` does it by hand. Pending and
parked events are never pruned.
"""

from __future__ import annotations

import logging
import os
import socket
import tomllib
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from marketplace.errors import NotFound, RegionUnavailable
from marketplace.events.consumers import Subscription
from marketplace.events.deliveries import ConsumerStats
from marketplace.events.envelope import SCHEMA_VERSION, Envelope
from marketplace.regions import idempotency
from marketplace.regions.base import database_now, utcnow
from marketplace.regions.batches import delete_in_batches
from marketplace.regions.ids import first_id_since, new_id
from marketplace.regions.models import OutboxEvent
from marketplace.regions.router import DIRECTORY
from marketplace.regions.uow import current_region

log = logging.getLogger(__name__)

Handler = Callable[["Event"], None]

# Neither delivered nor parked: what the relay still has to do. The claim index is on these.
PENDING = and_(OutboxEvent.delivered_at.is_(None), OutboxEvent.parked_at.is_(None))
SWEEP_EVERY = 1.0  # seconds between a relay's looks for abandoned events (see Relay._claim)
ABANDONED = "the relay handling its last attempt stopped before recording an outcome (a handler may have ended the process). "


@dataclass(frozen=True)
class Event:
    id: str
    region: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    attempt: int
    key: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def envelope(self) -> Envelope:
        return Envelope(event_id=self.id, topic=self.topic, key=self.key or self.id, source_region=self.region,
                        occurred_at=self.created_at, payload=self.payload, correlation_id=self.correlation_id,
                        causation_id=self.causation_id, schema_version=self.schema_version)


def publish(session: Session, topic: str, payload: dict[str, Any], *, key: str | None = None,
            correlation_id: str | None = None, causation_id: str | None = None) -> str:
    """Add an event to the current unit of work; it is delivered only if that commits. `key`
    is the aggregate it concerns (by default the payload field partition_keys.toml names for
    the topic); events of one key reach each consumer in order."""
    event_id = new_id("evt")
    session.info[PUBLISHED] = True  # the relays of this process are woken when it commits (see Commits)
    session.add(OutboxEvent(id=event_id, region=session.info["database"], topic=topic, payload=payload,
                            partition_key=key or partition_key_for(topic, payload, event_id),
                            correlation_id=correlation_id, causation_id=causation_id, schema_version=SCHEMA_VERSION))
    return event_id


class Commits:
    """Relays in this process wait here between passes, and a commit that published outbox
    events wakes those of its region at once: the latency of an event committed here is then
    the relay's work, not its polling interval. Events committed by other processes are
    found by the relay's next poll (its interval)."""

    SLICE = 0.05  # seconds between looks at `stop` while waiting

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count: dict[str, int] = defaultdict(int)

    def seen(self, region: str) -> int:
        """A mark to wait from: take it before a pass, so that a commit during the pass is not missed."""
        with self._changed:
            return self._count[region]

    def committed(self, region: str) -> None:
        with self._changed:
            self._count[region] += 1
            self._changed.notify_all()

    def wait(self, region: str, seen: int, seconds: float, stop: threading.Event) -> None:
        """Until a commit in `region` after the mark `seen`, `stop`, or `seconds`."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while self._count[region] == seen and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(min(left, self.SLICE))


PUBLISHED = "outbox_published"  # set in a session's info by `publish` until it commits
commits = Commits()


@sa_event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop(PUBLISHED, False):
        commits.committed(session.info["database"])


def partition_key_for(topic: str, payload: dict[str, Any], event_id: str) -> str:
    """The payload field partition_keys.toml names for the topic, or the event's own id."""
    field = _key_fields().get(topic)
    return str(payload[field]) if field and payload.get(field) is not None else event_id


@cache
def _key_fields() -> dict[str, str]:
    return tomllib.loads(Path(__file__).with_name("partition_keys.toml").read_text())


def publish_parked(session: Session, topic: str, payload: dict[str, Any], *, reason: str) -> str:
    """Add an event that waits for an operator from the start: for work known to fail the same
    way every time until someone mends its data, so that retrying it holds up nothing."""
    event_id = publish(session, topic, payload)
    event = session.get(OutboxEvent, event_id)
    event.parked_at, event.attempts, event.last_error = utcnow(), 1, reason[:2000]
    return event_id


class HandlerRegistry:
    """Which handlers and named consumers consume which topic. A topic nobody consumes yet must
    be declared with `announce`: an event of an undeclared topic is parked, not silently marked
    delivered (a typo, or a relay older than the code that published it).

    A named consumer (`consumer`) is delivered to through the relay's transport, on its own; a
    relay without a transport calls it directly, like a plain handler (`on`)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._announced: set[str] = set()
        self._subscriptions: dict[str, list[Subscription]] = defaultdict(list)

    def announce(self, *topics: str) -> None:
        """Topics published for consumers still to come; delivering them does nothing."""
        self._announced.update(topics)

    def knows(self, topic: str) -> bool:
        return topic in self._handlers or topic in self._announced or topic in self._subscriptions

    def consumer(self, name: str, topic: str, *, everywhere: bool = False, transactional: bool = False,
                 addressed: bool = False):
        """Register `name`'s handler of `topic` (see marketplace.events.consumers.Subscription)."""
        def register(handler):
            self._subscriptions[topic].append(Subscription(name, topic, handler, everywhere=everywhere,
                                                           transactional=transactional, addressed=addressed))
            return handler

        return register

    def subscriptions_for(self, topic: str) -> list[Subscription]:
        return self._subscriptions.get(topic, [])

    @property
    def subscriptions(self) -> list[Subscription]:
        return [s for subscriptions in self._subscriptions.values() for s in subscriptions]

    def on(self, topic: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._handlers[topic].append(handler)
            return handler

        return register

    def handlers_for(self, topic: str) -> list[Handler]:
        """What a relay without a transport runs: the plain handlers and the consumers, called directly."""
        return [*self._handlers.get(topic, []), *(s.direct for s in self.subscriptions_for(topic))]

    def plain_handlers_for(self, topic: str) -> list[Handler]:
        return self._handlers.get(topic, [])


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    parked: int = 0
    lost: int = 0  # outcomes refused because this relay's lease had run out meanwhile
    skipped_regions: list[str] = field(default_factory=list)
    consumed: ConsumerStats = field(default_factory=ConsumerStats)  # by the transport's local consumers
    chores: int = 0  # items the region's chores handled (webhook deliveries sent)

    def count(self, outcome: str) -> None:
        """One event's outcome: delivered, failed, parked or lost."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def add(self, other: RelayStats) -> None:
        self.chores += other.chores
        self.delivered += other.delivered
        self.failed += other.failed
        self.parked += other.parked
        self.lost += other.lost
        self.skipped_regions += other.skipped_regions
        self.consumed.add(other.consumed)

    @property
    def busy(self) -> bool:
        return (self.delivered + self.failed + self.parked + self.consumed.applied + self.consumed.failed
                + self.consumed.parked + self.chores > 0)


@dataclass(frozen=True)
class RelayPolicy:
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 10
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(minutes=30)
    retention: timedelta = timedelta(days=7)  # how long delivered events are kept
    prune_every: timedelta = timedelta(hours=1)
    prune_batches: int = 5  # per region and pass: a first prune of a large backlog must not stall delivery
    prune_again: timedelta = timedelta(minutes=1)  # when a pass left work behind
    chores_every: timedelta = timedelta(seconds=1)  # a running relay's chores: sweeps and webhook sends are due by the second

    def backoff(self, attempts: int) -> timedelta:
        return min(self.backoff_cap, self.backoff_base * (2 ** (attempts - 1)))


class Relay:
    def __init__(self, router, registry: HandlerRegistry, *, transport=None, policy: RelayPolicy | None = None,
                 worker: str | None = None, chores: Iterable[Callable[[str], int]] = ()):
        """`chores` run after a pass over a region, each `chore(region)` answering how much it
        did: work with a schedule of its own on the database clock (webhook deliveries), kept
        out of requests and riding the relay's thread per region. `run_once` and `drain` run
        them on every pass; a relay running forever at most every `policy.chores_every`, because
        an idle pass is mostly its chores' queries, and woken passes come many times a second."""
        self.router = router
        self.chores = list(chores)
        self.registry = registry
        self.transport = transport
        self.policy = policy or RelayPolicy()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{new_id('evt')[-8:]}"
        self._prefetched: dict[str, Claim] = {}  # region -> the batch claimed ahead (see _prefetch)
        self._unrecorded: dict[str, list[Event]] = {}  # region -> sent, recorded during the next pass's sending
        self._next_sweep: dict[str, float] = {}  # region -> when a claim parks abandoned events next

    def run_once(self, regions: Iterable[str] | None = None) -> RelayStats:
        """One batch per region; a region that is down is skipped, the others go on."""
        stats = RelayStats()
        for region in regions or self.router.served_regions:
            stats.add(self._pass(region))
        return stats

    def _pass(self, region: str, *, ahead: bool = False, chores: bool = True) -> RelayStats:
        """One batch of one region (`ahead`: claiming the next while this one's acknowledgements come)."""
        token = current_region.set(region)  # what this pass logs is about this region
        try:
            return self._run_region(region, ahead=ahead, chores=chores)
        except RegionUnavailable:
            log.warning("relay skipped region %s: unreachable", region, extra={"region": region})
        except Exception:  # one broken region must not stop the others
            log.exception("relay pass over region %s failed", region, extra={"region": region})
        finally:
            current_region.reset(token)
        return RelayStats(skipped_regions=[region])

    def drain(self, regions: Iterable[str] | None = None, *, max_batches: int = 1000) -> RelayStats:
        """Deliver until no event is ready: what tests and the standalone `--once` use."""
        total = RelayStats()
        for _ in range(max_batches):
            stats = self.run_once(regions)
            total.add(stats)
            if not stats.busy:
                break
        return total

    def run_forever(self, stop: threading.Event, interval: float, regions: Iterable[str] | None = None) -> None:
        """A thread per region until `stop`: a region that is slow or silent holds up only its own
        thread, never another region's events. The directory's keys are pruned with the first."""
        regions = list(regions or self.router.served_regions)
        every_region = set(regions) == set(self.router.served_regions)
        threads = [threading.Thread(target=self._run_region_forever, args=(stop, interval, region, every_region and n == 0),
                                    name=f"outbox-relay-{region}", daemon=True) for n, region in enumerate(regions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run_region_forever(self, stop: threading.Event, interval: float, region: str, prune_directory: bool) -> None:
        next_prune = next_chores = time.monotonic()
        while not stop.is_set():
            seen = commits.seen(region)
            chores = time.monotonic() >= next_chores
            if chores:
                next_chores = time.monotonic() + self.policy.chores_every.total_seconds()
            try:
                stats = self._pass(region, ahead=True, chores=chores)
                if stats.chores:  # they left more to do, perhaps: again on the next pass
                    next_chores = time.monotonic()
                if time.monotonic() >= next_prune:
                    pruned = self.prune([region], max_batches=self.policy.prune_batches, directory=prune_directory)
                    wait = self.policy.prune_again if pruned.more else self.policy.prune_every
                    next_prune = time.monotonic() + wait.total_seconds()
            except Exception:  # the relay must outlive any single bad batch
                log.exception("relay batch of region %s failed", region, extra={"region": region})
                stats = RelayStats()
            if not stats.busy and region not in self._busy_ahead:
                commits.wait(region, seen, interval, stop)
        try:
            self._release_prefetched(region)
            if region in self._unrecorded:
                self._record_sent(region, self._unrecorded.pop(region), RelayStats())
        except Exception:  # their leases run out instead, and they are sent again: the transport drops the copies
            log.warning("relay could not release its claim ahead in region %s", region, exc_info=True,
                        extra={"region": region})

    def prune(self, regions: Iterable[str] | None = None, *, max_batches: int | None = None,
              directory: bool | None = None) -> Pruned:
        """Housekeeping: delete delivered events past the retention, and idempotency keys past
        theirs, region by region, at most `max_batches` batches of each (None: all). A region
        that cannot be pruned now is left for the next time. The directory's registration keys are
        pruned too when `directory` (by default: when every region is)."""
        pruned = Pruned()
        for region in regions or self.router.served_regions:
            try:
                deleted, more = prune(self.router, region, older_than=self.policy.retention, max_batches=max_batches)
                keys, more_keys = idempotency.prune(self.router, region, max_batches=max_batches)
                more = more or more_keys
                pruned.keys[region] = keys
            except RegionUnavailable:
                log.warning("outbox of region %s not pruned: unreachable", region, extra={"region": region})
                pruned.failed.append(region)
            except Exception:  # one region's trouble must not keep the others from being pruned
                log.exception("outbox of region %s not pruned", region, extra={"region": region})
                pruned.failed.append(region)
            else:
                pruned.deleted[region] = deleted
                pruned.more = pruned.more or more
        if regions is None if directory is None else directory:  # a relay of every region also keeps the directory's keys
            try:
                pruned.registration_keys, more = idempotency.prune_registrations(self.router, max_batches=max_batches)
                pruned.more = pruned.more or more
            except Exception:
                log.exception("registration keys in the directory not pruned")
                pruned.failed.append(DIRECTORY)
        if any(pruned.deleted.values()):
            log.info("pruned delivered outbox events: %s", pruned.deleted, extra={"region": ",".join(pruned.deleted)})
        return pruned

    def _run_region(self, region: str, *, ahead: bool, chores: bool) -> RelayStats:
        stats = RelayStats()
        claim = self._prefetched.pop(region, None) or self._claim(region)
        stats.parked += claim.exhausted
        events = claim.events
        held = {e.id for e in events}
        sent: list[Event] = []  # handed to the transport alone: recorded together once the batch is done
        earlier = self._unrecorded.pop(region, [])  # the last pass's, recorded while this one's acknowledgements come
        renew_at = time.monotonic() + self.policy.lease.total_seconds() / 2
        for start, run in self._runs(events):
            if time.monotonic() >= renew_at:  # a slow batch: keep the rest of it ours
                held = self._renew(region, [e.id for e in [*sent, *events[start:]] if e.id in held])
                renew_at = time.monotonic() + self.policy.lease.total_seconds() / 2
            run = [e for e in run if e.id in held]  # an event whose lease ran out before the renewal is another relay's
            if not run:
                continue
            if self._transport_only(run[0]):  # bounded by the transport's own timeout, far inside the lease: no heartbeat
                sending = self._start_sending(run)
                if earlier:
                    self._record_sent(region, earlier, stats)
                    earlier = []
                if ahead and start + len(run) == len(events) == self.policy.batch_size:  # a full batch: more may wait
                    self._prefetch(region)
                for event, error in zip(run, sending.result()):
                    if error is None:
                        sent.append(event)
                    else:
                        stats.count(self._record_failure(region, event, error))
                continue
            [event] = run
            try:
                if not self.registry.knows(event.topic):
                    raise LookupError(f"no handler registered for topic {event.topic!r}")
                with self._heartbeat(region, event.id):
                    for handler in self._handlers_for(event.topic):
                        handler(event)
            except Exception as exc:
                stats.count(self._record_failure(region, event, exc))
            else:
                stats.count(self._record_delivery(region, event))
        if earlier:
            self._record_sent(region, earlier, stats)
        if sent and region in self._prefetched:  # the next pass follows at once: recorded during its sending
            self._unrecorded[region] = sent
        elif sent:  # a relay that stops before this has them sent again: the transport drops the copies
            self._record_sent(region, sent, stats)
        if self.transport is not None:
            stats.consumed = self.transport.pump(region)
        for chore in self.chores if chores else ():
            try:
                stats.chores += chore(region)
            except RegionUnavailable:
                raise
            except Exception:  # one broken chore must not hold up the events
                log.exception("relay chore %s of region %s failed", getattr(chore, "__name__", chore), region,
                              extra={"region": region})
        return stats

    def _record_sent(self, region: str, sent: list[Event], stats: RelayStats) -> None:
        recorded = self._record_deliveries(region, sent)
        stats.delivered += recorded
        stats.lost += len(sent) - recorded

    @property
    def _busy_ahead(self) -> set[str]:
        """Regions with a batch claimed ahead or sends still to record: their next pass is due now."""
        return {*self._prefetched, *self._unrecorded}

    def _transport_only(self, event: Event) -> bool:
        """Known, and only for the transport (no plain handler): such events are sent together."""
        return (self.transport is not None and self.registry.knows(event.topic)
                and not self.registry.plain_handlers_for(event.topic))

    def _runs(self, events: list[Event]) -> Iterator[tuple[int, list[Event]]]:
        """The batch in claim order, as (index of its first event, events): consecutive events only
        for the transport go together when it can send many at once (`send_many`), so they are
        published in one go; every other event alone."""
        batched = hasattr(self.transport, "send_many")
        start = 0
        while start < len(events):
            end = start + 1
            if batched and self._transport_only(events[start]):
                while end < len(events) and self._transport_only(events[end]):
                    end += 1
            yield start, events[start:end]
            start = end

    def _start_sending(self, events: list[Event]) -> Future:
        """Each event's envelope to the transport; the future answers per event None (it has it) or why not."""
        if len(events) > 1:
            return self.transport.send_many([e.envelope for e in events])
        sent: Future = Future()
        try:
            self.transport.send(events[0].envelope)
        except Exception as exc:
            sent.set_result([exc])
        else:
            sent.set_result([None])
        return sent

    def _prefetch(self, region: str) -> None:
        """Claim the next batch while this one's acknowledgements are on their way (the broker's
        round trip and the claim's overlap); the next pass starts with it. Released if the relay stops first."""
        try:
            self._prefetched[region] = self._claim(region, sweep=False)
        except Exception:  # the next pass claims again
            log.warning("relay could not claim ahead in region %s", region, exc_info=True, extra={"region": region})

    def _release_prefetched(self, region: str) -> None:
        """Claimed ahead but never sent: back to the queue at once, the attempt uncounted."""
        claim = self._prefetched.pop(region, None)
        if not claim or not claim.events:
            return
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            uow.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([e.id for e in claim.events]), OutboxEvent.claimed_by == self.worker,
                       OutboxEvent.claimed_until >= now)
                .values(claimed_by=None, claimed_until=None, attempts=OutboxEvent.attempts - 1)
                .execution_options(synchronize_session=False))
            uow.commit()

    def _handlers_for(self, topic: str) -> list[Handler]:
        """With a transport, the consumers are its business: every event goes to it once."""
        if self.transport is None:
            return self.registry.handlers_for(topic)
        return [*self.registry.plain_handlers_for(topic), lambda event: self.transport.send(event.envelope)]

    def _claim(self, region: str, *, sweep: bool = True) -> Claim:
        """Take a batch, counting the attempt now: an event whose handler kills the process
        never reaches `_record_failure`, so counting there would retry it for ever. An event
        whose last lease ran out with no attempt left is never claimed again: it is parked
        instead, by the first claim of this relay and then by one a second (`sweep`; a claim
        ahead, moments after one, never sweeps), a statement most claims need not send."""
        sweep = sweep and time.monotonic() >= self._next_sweep.get(region, 0.0)
        if sweep:
            self._next_sweep[region] = time.monotonic() + SWEEP_EVERY
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            lapsed = or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now)
            exhausted = sweep and uow.session.execute(
                update(OutboxEvent)
                .where(PENDING, OutboxEvent.claimed_until < now, OutboxEvent.attempts >= self.policy.max_attempts)
                .values(parked_at=now, claimed_by=None, claimed_until=None,
                        last_error=ABANDONED + func.coalesce(OutboxEvent.last_error, ""))
                .execution_options(synchronize_session=False)
            ).rowcount
            ready = (
                select(OutboxEvent.id)
                .where(PENDING, OutboxEvent.available_at <= now, lapsed, OutboxEvent.attempts < self.policy.max_attempts)
                .order_by(OutboxEvent.id)
                .limit(self.policy.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = uow.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(ready.scalar_subquery()), lapsed)
                .values(claimed_by=self.worker, claimed_until=now + self.policy.lease, attempts=OutboxEvent.attempts + 1)
                .returning(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload, OutboxEvent.created_at, OutboxEvent.attempts,
                           OutboxEvent.partition_key, OutboxEvent.correlation_id, OutboxEvent.causation_id,
                           OutboxEvent.schema_version)
                .execution_options(synchronize_session=False)
            ).all()
            uow.commit()
        if exhausted:
            log.error("%d outbox event(s) of region %s parked: their relay stopped on the last attempt", exhausted, region,
                      extra={"region": region})
        events = [Event(r.id, region, r.topic, r.payload, r.created_at, r.attempts, r.partition_key, r.correlation_id,
                        r.causation_id, r.schema_version) for r in rows]
        return Claim(sorted(events, key=lambda e: e.id), int(exhausted))

    def _renew(self, region: str, event_ids: list[str]) -> set[str]:
        """Extend this relay's lease on these events; answers those still ours (an event whose
        lease ran out may have gone to another relay: it is theirs now)."""
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            held = uow.session.scalars(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(event_ids), OutboxEvent.claimed_by == self.worker, OutboxEvent.claimed_until >= now)
                .values(claimed_until=now + self.policy.lease)
                .returning(OutboxEvent.id)
                .execution_options(synchronize_session=False)
            ).all()
            uow.commit()
        return set(held)

    @contextmanager
    def _heartbeat(self, region: str, event_id: str):
        """While one handler runs, renew its event's lease every third of the lease, so a
        handler slower than the lease is not handed to a second relay meanwhile."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.policy.lease.total_seconds() / 3):
                try:
                    if not self._renew(region, [event_id]):
                        return
                except Exception:  # the outcome's own check still refuses a lost lease
                    log.warning("lease of outbox event %s not renewed", event_id, exc_info=True)

        beating = threading.Thread(target=beat, name=f"lease-{event_id}", daemon=True)
        beating.start()
        try:
            yield
        finally:
            stop.set()
            beating.join()

    def _record(self, region: str, event: Event, values_at: Callable[[datetime], dict[str, Any]]) -> bool:
        """Write an outcome only while the lease is this relay's: after it ran out another relay
        may have the event, and its outcome is the one that counts."""
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            written = uow.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event.id, OutboxEvent.claimed_by == self.worker, OutboxEvent.claimed_until >= now)
                .values(claimed_by=None, claimed_until=None, **values_at(now))
                .execution_options(synchronize_session=False)
            ).rowcount
            uow.commit()
        if not written:
            self._log_lost(region, event)
        return bool(written)

    def _log_lost(self, region: str, event: Event) -> None:
        log.warning("outcome of outbox event %s (%s) refused: the lease of relay %s had run out",
                    event.id, event.topic, self.worker, extra={"event_id": event.id, "topic": event.topic, "region": region})

    def _record_delivery(self, region: str, event: Event) -> str:
        return "delivered" if self._record(region, event, lambda now: {"delivered_at": now, "last_error": None}) else "lost"

    def _record_deliveries(self, region: str, events: list[Event]) -> int:
        """Many deliveries in one transaction, on the same terms as `_record`; answers how many were ours."""
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            written = set(uow.session.scalars(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([e.id for e in events]), OutboxEvent.claimed_by == self.worker,
                       OutboxEvent.claimed_until >= now)
                .values(claimed_by=None, claimed_until=None, delivered_at=now, last_error=None)
                .returning(OutboxEvent.id)
                .execution_options(synchronize_session=False)
            ).all())
            uow.commit()
        for event in events:
            if event.id not in written:
                self._log_lost(region, event)
        return len(written)

    def _record_failure(self, region: str, event: Event, exc: Exception) -> str:
        parked = event.attempt >= self.policy.max_attempts
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        def values_at(now: datetime) -> dict[str, Any]:
            later = {"parked_at": now} if parked else {"available_at": now + self.policy.backoff(event.attempt)}
            return {"last_error": error, **later}

        if not self._record(region, event, values_at):
            return "lost"
        log_method = log.error if parked else log.warning
        log_method(
            "outbox event %s (%s) %s after attempt %d: %s",
            event.id, event.topic, "parked" if parked else "will be retried", event.attempt, error,
            extra={"event_id": event.id, "topic": event.topic, "region": region},
        )
        return "parked" if parked else "failed"


@dataclass(frozen=True)
class Claim:
    events: list[Event]
    exhausted: int  # parked while claiming: their relay stopped during their last attempt


@dataclass
class Pruned:
    deleted: dict[str, int] = field(default_factory=dict)  # region -> events deleted
    keys: dict[str, int] = field(default_factory=dict)  # region -> idempotency keys forgotten
    registration_keys: int = 0  # forgotten in the directory
    failed: list[str] = field(default_factory=list)  # regions not pruned
    more: bool = False  # a region had more to delete than one pass may


def prune(router, region: str, *, older_than: timedelta, batch: int = 1000,
          max_batches: int | None = None) -> tuple[int, bool]:
    """Delete the region's events delivered more than `older_than` ago, in batches (found
    through the primary key, ids being time-sortable, then by delivery time, so an old event
    delivered late is kept its full time). Returns (deleted, whether `max_batches` stopped it
    with more to delete)."""
    cutoff = utcnow() - older_than
    return delete_in_batches(lambda: router.unit_of_work(region), OutboxEvent, (OutboxEvent.id,),
                             and_(OutboxEvent.id < first_id_since("evt", cutoff), OutboxEvent.delivered_at < cutoff),
                             batch=batch, max_batches=max_batches)


def parked_events(router, region: str, *, topic: str | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.parked_at.is_not(None)).order_by(OutboxEvent.id)
    if topic is not None:
        query = query.where(OutboxEvent.topic == topic)
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(query))


def replay(router, event_id: str) -> str:
    """Return a parked event to the queue; answers the region it was found in."""
    unreachable = []
    for region, uow in router.all_units_of_work():
        try:
            with uow:
                event = uow.session.get(OutboxEvent, event_id)
                if event is None:
                    continue
                if event.parked_at is None:
                    raise NotFound(f"event {event_id} is not parked")
                _requeue(uow.session, OutboxEvent.id == event_id)
                uow.commit()
                return region
        except RegionUnavailable:
            unreachable.append(region)
    suffix = f" (not searched, unreachable: {', '.join(unreachable)})" if unreachable else ""
    raise NotFound(f"no outbox event {event_id} in any region{suffix}")


def replay_parked(router, region: str, *, topic: str | None = None) -> int:
    """Return every parked event of a region (of one topic, if given) to the queue, after the
    cause is mended: answers how many."""
    condition = OutboxEvent.parked_at.is_not(None)
    if topic is not None:
        condition = and_(condition, OutboxEvent.topic == topic)
    with router.unit_of_work(region) as uow:
        count = _requeue(uow.session, condition)
        uow.commit()
    return count


def _requeue(session: Session, condition) -> int:
    """Fresh attempts from now; the last error stays until an outcome replaces it."""
    return session.execute(
        update(OutboxEvent).where(condition)
        .values(parked_at=None, attempts=0, available_at=database_now(session), claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
