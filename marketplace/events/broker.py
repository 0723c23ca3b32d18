"""The broker transport: NATS JetStream, one server (or cluster) per data center.

Publishing. A region's relay publishes each claimed outbox event to its region's stream
(`CPU_EVENTS_<REGION>`, subjects `cpu.events.<region>.<topic>`) with `Nats-Msg-Id` set to the
event id, and waits for the server's acknowledgement before the event counts as delivered:
a lost acknowledgement means the relay publishes again, and the stream's de-duplication
window drops the copy (the consumers' inboxes drop any that outlive it). A batch is published
at once and its acknowledgements awaited together (`send_many`), in order on one connection.

Between data centers. Each data center's nats-server runs JetStream with `domain: <region>`,
linked to the others by leafnodes. A region's inbound stream (`CPU_INBOUND_<REGION>`) sources
every region's own stream: through `$JS.<region>.API` when the connected server has a domain,
directly when one server holds every region (a one-site setup, or 127.0.0.1:4222 in
development). When a link is cut, events wait in the source's stream
and the sourcing resumes where it stopped once the link is back, however long that takes: the
relay's own publish is always to its own region's server, so nothing is parked because a
region is away.

Consuming. In each region, one durable pull consumer per named consumer reads the region's
inbound stream, applies a fetch's events through the consumers' inbox code
(deliveries.apply_batch: one inbox read, one transaction per run of events, one by one again
only when one fails), and acknowledges each after its inbox commit. A region database that is
away NAKs the batch without counting an attempt. A failure is NAKed with the relay's backoff, and the later events of its key wait (NAKed too) until it is applied, so each key's
events are applied in order; after its attempts it is parked in the region's own consumer
queue (`cpu events parked`), where a replay applies it locally.

In order means by stream sequence, not by which redelivery comes back first: JetStream
redelivers NAKed messages by their own delays, so once the failed event is applied the held
ones may return in any order. Each key's held sequences are kept, and only the lowest is
applied (the drill found a Kingston merchant's renames applied out of order in Bridgetown).
A consumer whose own region's database is away is not failing: its events wait (NAKed with
the region's Retry-After) without spending attempts, however long the outage, so nothing is
parked merely because the region was down.

nats-py is asyncio and the app is not: one event loop runs in a daemon thread per transport,
and the sync side waits on it with `asyncio.run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import Future

import nats
from nats.errors import TimeoutError as NoMessages
from nats.js import api
from nats.js.errors import NotFoundError

from marketplace.errors import RegionUnavailable
from marketplace.events import deliveries
from marketplace.events.envelope import SUBJECT_PREFIX, Envelope
from marketplace.events.transports import consumer_worker_name

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 5.0  # seconds to wait for the region's server to acknowledge a publish
FETCH_WAIT = 0.5  # seconds a consumer's pull waits for messages before looking at `stop`
DUPLICATE_WINDOW = 24 * 3600.0  # seconds the stream remembers a message id
PUMP_EVERY = 5.0  # seconds between looks at a region's local queue (replayed deliveries) while it is empty


def _outcome(ack) -> BaseException | None:
    """A publish's outcome from its acknowledgement's future (or the error that kept it from being sent)."""
    if isinstance(ack, BaseException):
        return ack
    if not ack.done() or ack.cancelled():
        ack.cancel()
        return TimeoutError(f"no acknowledgement from the broker within {PUBLISH_TIMEOUT:g} s")
    return ack.exception()
HELD_BACK_DELAY = 0.5  # seconds before a message held behind an earlier one of its key comes back


def stream_name(region: str) -> str:
    return f"CPU_EVENTS_{region.upper()}"


def inbound_name(region: str) -> str:
    return f"CPU_INBOUND_{region.upper()}"


async def _put_stream(js, config: api.StreamConfig) -> None:
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


def durable_name(consumer: str, region: str) -> str:
    return f"{consumer.replace('.', '_')}_{region}"


class EventLoop:
    """An asyncio loop in a thread of its own, for the sync world to hand coroutines to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="nats-loop", daemon=True)
        self._thread.start()

    def submit(self, coroutine) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine, timeout: float | None = None):
        return self.submit(coroutine).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class BrokerTransport:
    def __init__(self, router, registry, *, url: str, policy, regions: Iterable[str] | None = None,
                 peers: Iterable[str] | None = None):
        self.router = router
        self.registry = registry
        self.url = url
        self.policy = policy
        self.regions = list(regions or router.served_regions)  # the regions this process relays and consumes
        self.peers = list(peers or router.regions.region_codes)  # every region whose events reach these
        self.runner = deliveries.ConsumerRunner(router, registry, policy=policy, worker=consumer_worker_name())
        self._loop = EventLoop()
        self._nc = None
        self._js = None
        self._ready = threading.Lock()
        self._pulls: dict[tuple[str, str], PullConsumer] = {}
        self._next_pump: dict[str, float] = {}  # region -> when its local queue is looked at next
        # Kept by the loop thread, for this process: failed attempts per (consumer, region, event
        # id), and per (consumer, region, key) the stream sequences of that key's events seen and
        # not yet applied: the lowest goes first.
        self.failures: dict[tuple[str, str, str], int] = {}
        self.held: dict[tuple[str, str, str], set[int]] = {}
        # (consumer, region) whose region's database is away -> seconds its events wait between tries
        self.away: dict[tuple[str, str], int] = {}

    # -- connection and streams -------------------------------------------------------------
    def connect(self):
        """The JetStream context, connecting and declaring this process's regions' streams on first use."""
        with self._ready:
            if self._js is None:
                self._js = self._loop.run(self._connect(), timeout=30)
        return self._js

    async def _connect(self):
        self._nc = await nats.connect(self.url, name=f"cpu-events:{','.join(self.regions)}", error_cb=self._trouble,
                                      max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        js = self._nc.jetstream()
        domain = (await js.account_info()).domain
        for region in self.regions:
            await self._ensure_streams(js, region, domain)
        return js

    async def _trouble(self, error: Exception) -> None:
        """One line per connection trouble (the client reconnects by itself); never the URL, which may hold a token."""
        log.warning("broker connection of region(s) %s: %r", ",".join(self.regions), error,
                    extra={"region": ",".join(self.regions)})

    async def _ensure_streams(self, js, region: str, domain: str | None) -> None:
        """The region's own stream, which its relay publishes to, and its inbound stream, which
        sources every region's own stream (its own included) and which its consumers read. Two
        streams, because the server refuses streams that source each other (a cycle)."""
        await _put_stream(js, api.StreamConfig(name=stream_name(region), subjects=[f"{SUBJECT_PREFIX}.{region}.>"],
                                               storage=api.StorageType.FILE, duplicate_window=DUPLICATE_WINDOW))
        sources = [api.StreamSource(name=stream_name(peer),
                                    external=api.ExternalStream(api=f"$JS.{peer}.API") if domain and peer != region else None)
                   for peer in self.peers]
        await _put_stream(js, api.StreamConfig(name=inbound_name(region), sources=sources, storage=api.StorageType.FILE,
                                               duplicate_window=DUPLICATE_WINDOW))

    def close(self) -> None:
        """Unacknowledged messages are redelivered to the next process: closing need not wait for them."""
        if self._nc is not None:
            try:
                self._loop.run(self._nc.close(), timeout=5)
            except Exception:
                log.warning("broker connection of region(s) %s not closed cleanly", ",".join(self.regions), exc_info=True)
        self._loop.close()

    # -- the relay's side ----------------------------------------------------------------------
    def send(self, envelope: Envelope) -> None:
        """Published to the source region's stream; returns once the server has it."""
        [error] = self.send_many([envelope]).result(timeout=PUBLISH_TIMEOUT + 1)
        if error is not None:
            raise error

    def send_many(self, envelopes: list[Envelope]) -> Future:
        """Start publishing to the source regions' streams, all at once; the future answers,
        once every acknowledgement is in (PUBLISH_TIMEOUT at most), per envelope None (the
        server has it) or why not. One connection carries them in order, so the stream keeps
        the batch's order; the caller may do other work meanwhile (the relay claims its next batch)."""
        js = self.connect()
        return self._loop.submit(self._publish_all(js, envelopes))

    async def _publish_all(self, js, envelopes: list[Envelope]) -> list[BaseException | None]:
        # No expected-stream header: the sourced copies keep their headers, and the inbound
        # streams would refuse one naming another stream. The subject names the stream already.
        deadline = asyncio.get_running_loop().time() + PUBLISH_TIMEOUT
        acks: list[asyncio.Future | BaseException] = []
        for envelope in envelopes:
            try:
                acks.append(await js.publish_async(envelope.subject, envelope.to_bytes(), wait_stall=PUBLISH_TIMEOUT,
                                                   headers={"Nats-Msg-Id": envelope.event_id}))
            except Exception as exc:
                acks.append(exc)
        pending = [ack for ack in acks if isinstance(ack, asyncio.Future)]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        return [_outcome(ack) for ack in acks]

    def pump(self, region: str) -> deliveries.ConsumerStats:
        """Deliveries parked here and replayed by an operator are applied from the local queue:
        looked for at most every PUMP_EVERY seconds, since only a replay puts any there."""
        now = time.monotonic()
        if now < self._next_pump.get(region, now):
            return deliveries.ConsumerStats()
        stats = self.runner.run_once(region)
        self._next_pump[region] = now if stats.applied + stats.failed + stats.parked else now + PUMP_EVERY
        return stats

    # -- the consumers' side -------------------------------------------------------------------
    def consume(self, stop: threading.Event, regions: Iterable[str] | None = None) -> None:
        """Run every named consumer of these regions until `stop` (a thread per consumer and region)."""
        self.connect()
        names = sorted({s.consumer for s in self.registry.subscriptions})
        threads = [threading.Thread(target=self._consume_forever, args=(stop, name, region),
                                    name=f"consumer-{name}-{region}", daemon=True)
                   for region in regions or self.regions for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _pull(self, consumer: str, region: str) -> PullConsumer:
        with self._ready:
            if (consumer, region) not in self._pulls:
                self._pulls[consumer, region] = PullConsumer(self, consumer, region)
        return self._pulls[consumer, region]

    def _consume_forever(self, stop: threading.Event, consumer: str, region: str) -> None:
        pull = self._pull(consumer, region)
        while not stop.is_set():
            try:
                pull.run_once()
            except Exception:  # the consumer must outlive any single bad batch
                log.exception("consumer %s in region %s failed a batch", consumer, region, extra={"region": region})
                stop.wait(1)

    def consume_ready(self, regions: Iterable[str] | None = None) -> deliveries.ConsumerStats:
        """One pass of every consumer over what is in the stream now: for tests and `--once`."""
        self.connect()
        stats = deliveries.ConsumerStats()
        for region in regions or self.regions:
            for name in sorted({s.consumer for s in self.registry.subscriptions}):
                stats.add(self._pull(name, region).run_once())
        return stats


class PullConsumer:
    """One named consumer's durable JetStream consumer in one region."""

    def __init__(self, transport: BrokerTransport, consumer: str, region: str):
        self.transport = transport
        self.consumer = consumer
        self.region = region
        self.subscriptions = {s.topic: s for s in transport.registry.subscriptions if s.consumer == consumer}
        everywhere = any(s.everywhere or s.addressed for s in self.subscriptions.values())
        self.filter = f"{SUBJECT_PREFIX}.>" if everywhere else f"{SUBJECT_PREFIX}.{region}.>"
        self._sub = transport._loop.run(self._subscribe(), timeout=30)

    async def _subscribe(self):
        js, durable = self.transport._js, durable_name(self.consumer, self.region)
        config = api.ConsumerConfig(durable_name=durable, ack_policy=api.AckPolicy.EXPLICIT, filter_subject=self.filter,
                                    ack_wait=self.transport.policy.lease.total_seconds(), max_ack_pending=1000,
                                    deliver_policy=api.DeliverPolicy.ALL)
        await js.add_consumer(inbound_name(self.region), config)
        return await js.pull_subscribe_bind(durable, inbound_name(self.region))

    def run_once(self) -> deliveries.ConsumerStats:
        return self.transport._loop.run(self._run_once(), timeout=self.transport.policy.lease.total_seconds() * 2)

    async def _run_once(self) -> deliveries.ConsumerStats:
        stats = deliveries.ConsumerStats()
        try:
            messages = await self._sub.fetch(self.transport.policy.batch_size, timeout=FETCH_WAIT)
        except (NoMessages, asyncio.TimeoutError):  # nothing there within FETCH_WAIT
            return stats
        earlier: set[int] = set()  # stream sequences before the message at hand
        batch = [item for message in messages if (item := await self._sort(message, earlier)) is not None]
        if not batch:
            return stats
        try:
            outcomes = await asyncio.to_thread(deliveries.apply_batch, self.transport.router, self.region, self.consumer,
                                               [(subscription, envelope) for _, subscription, envelope in batch])
        except RegionUnavailable as exc:  # the region's database is away: no event's fault, no attempt counted
            for message, _, _ in batch:
                await self._wait_for_region(message, exc)
            return stats
        for (message, _, envelope), outcome in zip(batch, outcomes):
            key = (self.consumer, self.region, envelope.key)
            if isinstance(outcome, BaseException):
                await self._failed(message, envelope, key, outcome, stats)
            elif outcome is None:  # an earlier event of its key just failed: it goes after that one
                await message.nak(delay=self.transport.policy.backoff_base.total_seconds())
            else:  # acknowledged only now, after the inbox commit
                self._done(key, message.metadata.sequence.stream, envelope)
                await message.ack()
                stats.applied += outcome
                stats.duplicates += not outcome
        return stats

    async def _sort(self, message, earlier: set[int]):
        """(message, subscription, envelope) to apply; None for a message settled here: not an
        envelope it can read (terminated), not this consumer's (acknowledged), or held behind
        an earlier event of its key that failed (NAKed: it goes after that one)."""
        try:
            envelope = Envelope.from_bytes(message.data)
        except Exception as exc:  # no envelope, or a newer one: no retry can help, and it must not hold up the rest
            log.error("consumer %s in region %s dropped message %s on %s, not an envelope it can read: %r",
                      self.consumer, self.region, message.headers and message.headers.get("Nats-Msg-Id"),
                      message.subject, exc, extra={"region": self.region})
            await message.term()
            return None
        subscription = self.subscriptions.get(envelope.topic)
        if subscription is None or not subscription.runs_in(self.region, envelope):
            await message.ack()  # not this consumer's: nothing to do
            return None
        key = (self.consumer, self.region, envelope.key)
        sequence = message.metadata.sequence.stream
        held = self.transport.held.setdefault(key, set())
        held.add(sequence)
        if any(seen < sequence and seen not in earlier for seen in held):  # an earlier event of its key goes first
            await message.nak(delay=self.transport.away.get((self.consumer, self.region), HELD_BACK_DELAY))
            return None
        earlier.add(sequence)
        return message, subscription, envelope

    def _done(self, key, sequence: int, envelope: Envelope) -> None:
        held = self.transport.held.get(key, set())
        held.discard(sequence)
        if not held:
            self.transport.held.pop(key, None)
        self.transport.failures.pop((self.consumer, self.region, envelope.event_id), None)
        if (self.consumer, self.region) in self.transport.away:
            del self.transport.away[self.consumer, self.region]
            log.warning("consumer %s: region %s is back, its events flow again", self.consumer, self.region,
                        extra={"region": self.region})

    async def _wait_for_region(self, message, exc: RegionUnavailable) -> None:
        """Its own region is away: not the event's failure, so no attempt is spent; said once."""
        if (self.consumer, self.region) not in self.transport.away:
            self.transport.away[self.consumer, self.region] = exc.retry_after
            log.warning("consumer %s: region %s unavailable, its events wait in the broker: %s", self.consumer,
                        self.region, exc.detail, extra={"region": self.region})
        await message.nak(delay=exc.retry_after)

    async def _failed(self, message, envelope: Envelope, key, exc: Exception, stats) -> None:
        policy = self.transport.policy
        attempt_key = (self.consumer, self.region, envelope.event_id)
        attempts = self.transport.failures[attempt_key] = self.transport.failures.get(attempt_key, 0) + 1
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        if attempts < policy.max_attempts:
            await message.nak(delay=policy.backoff(attempts).total_seconds())
            stats.failed += 1
            log.warning("consumer %s: event %s (%s) will be retried after attempt %d: %s", self.consumer,
                        envelope.event_id, envelope.topic, attempts, error,
                        extra={"event_id": envelope.event_id, "topic": envelope.topic, "region": self.region})
            return
        await asyncio.to_thread(deliveries.park, self.transport.router, self.region, self.consumer, envelope,
                                attempts=attempts, error=error)
        self._done(key, message.metadata.sequence.stream, envelope)
        await message.ack()  # parked in its region now: the broker is done with it
        stats.parked += 1
        log.error("consumer %s: event %s (%s) parked after attempt %d: %s", self.consumer, envelope.event_id,
                  envelope.topic, attempts, error,
                  extra={"event_id": envelope.event_id, "topic": envelope.topic, "region": self.region})
