"""Events in batches, kept to the one-at-a-time promises: a commit wakes its region's relay
at once (and an event queued for another region wakes that region's), chores keep their own
schedule, a relay that stops leaves nothing claimed ahead, and a consumer's batch of
transactional events commits together while a failing one fails alone and holds up only its
own key."""

import threading
import time
from concurrent.futures import Future
from datetime import timedelta

from sqlalchemy import select

from marketplace.events import deliveries
from marketplace.events.envelope import Envelope
from marketplace.events.transports import EmbeddedTransport
from marketplace.regions import outbox
from marketplace.regions.models import InboxEntry, OutboxEvent
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy


def publish(router, region, topic, count=1):
    with router.unit_of_work(region) as uow:
        ids = [outbox.publish(uow.session, topic, {"n": n}) for n in range(count)]
        uow.commit()
    return ids


def rows(router, region, ids):
    with router.unit_of_work(region, read_only=True) as uow:
        return {row.id: row for row in uow.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))}


def test_a_commit_wakes_its_regions_relay_at_once_rather_than_after_its_interval(router):
    registry = HandlerRegistry()
    delivered = {}
    registry.on("parcel.scanned")(lambda event: delivered.setdefault(event.id, time.monotonic()))
    stop = threading.Event()
    relaying = threading.Thread(target=Relay(router, registry).run_forever, args=(stop, 30.0, ["kin"]))
    relaying.start()
    try:
        time.sleep(0.3)  # the relay found nothing and waits out its 30 s interval
        [event_id] = publish(router, "kin", "parcel.scanned")
        committed = time.monotonic()
        while event_id not in delivered and time.monotonic() < committed + 5:
            time.sleep(0.01)
    finally:
        stop.set()
        relaying.join(timeout=5)
    assert not relaying.is_alive()  # and a stop is seen at once too
    assert event_id in delivered and delivered[event_id] - committed < 1.0


class StopsAfterFirstBatch:
    """A transport that takes a batch at once, and asks the relay to stop as it does."""

    def __init__(self, stop):
        self.stop = stop
        self.sent = []

    def send_many(self, envelopes):
        self.sent += [e.event_id for e in envelopes]
        self.stop.set()
        done = Future()
        done.set_result([None] * len(envelopes))
        return done

    def send(self, envelope):
        self.send_many([envelope])

    def pump(self, region):
        return deliveries.ConsumerStats()


def test_a_relay_that_stops_records_what_it_sent_and_frees_what_it_claimed_ahead(router):
    registry = HandlerRegistry()
    registry.consumer("ledger", "order.paid")(lambda envelope: None)
    ids = publish(router, "kin", "order.paid", count=5)
    stop = threading.Event()
    transport = StopsAfterFirstBatch(stop)
    Relay(router, registry, transport=transport, policy=RelayPolicy(batch_size=2)).run_forever(stop, 0.01, ["kin"])

    assert transport.sent == ids[:2]
    after = rows(router, "kin", ids)
    assert all(after[i].delivered_at is not None for i in ids[:2])  # sent, then recorded as it stopped
    ahead = [after[i] for i in ids[2:4]]  # claimed while the first batch was on its way, never sent
    assert [(r.delivered_at, r.claimed_by, r.attempts) for r in ahead] == [(None, None, 0)] * 2
    assert (after[ids[4]].claimed_by, after[ids[4]].attempts) == (None, 0)


def envelope(n, key):
    return Envelope.from_dict({"event_id": f"evt_batch{n}", "topic": "order.paid", "key": key, "source_region": "bgi",
                               "occurred_at": "2026-12-02T00:00:00+00:00", "payload": {"n": n}})


def test_a_batch_of_transactional_events_commits_together_and_a_failing_one_fails_alone(router):
    registry = HandlerRegistry()
    calls = []

    @registry.consumer("copy", "order.paid", transactional=True)
    def copy(envelope, session):
        calls.append(envelope.payload["n"])
        outbox.publish(session, "order.copied", {"of": envelope.payload["n"]})
        if envelope.payload["n"] == 2:
            raise ValueError("unknown order")

    [subscription] = registry.subscriptions_for("order.paid")
    batch = [(subscription, envelope(1, "ord_A")), (subscription, envelope(2, "ord_B")),
             (subscription, envelope(3, "ord_B")), (subscription, envelope(4, "ord_C"))]
    outcomes = deliveries.apply_batch(router, "bgi", "copy", batch)

    assert outcomes[0] is True and outcomes[3] is True
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] is None  # ord_B's second event waits for its first
    assert 3 not in calls
    with router.unit_of_work("bgi", read_only=True) as uow:
        copies = uow.session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "order.copied")).all()
        applied = uow.session.scalars(select(InboxEntry.event_id).where(InboxEntry.consumer == "copy")).all()
    assert sorted(c["of"] for c in copies) == [1, 4]  # the failing event's write rolled back, the others' kept
    assert sorted(applied) == ["evt_batch1", "evt_batch4"]

    again = deliveries.apply_batch(router, "bgi", "copy", batch)
    assert again[0] is False and again[3] is False  # a redelivered batch is a no-op for what it applied


def test_an_event_for_another_region_is_applied_there_at_once_rather_than_at_its_relays_next_poll(router):
    """The embedded transport queues it in fdf's own database; that commit wakes fdf's relay,
    which applies it, as kin's commit woke kin's: a saga's hop costs the work, not two polls."""
    registry = HandlerRegistry()
    applied = {}
    registry.consumer("orders.merchant", "order.requested", addressed=True)(
        lambda envelope: applied.setdefault(envelope.event_id, time.monotonic()))
    stop = threading.Event()
    relay = Relay(router, registry, transport=EmbeddedTransport(router, registry, policy=RelayPolicy()))
    relaying = threading.Thread(target=relay.run_forever, args=(stop, 30.0, ["kin", "fdf"]))
    relaying.start()
    try:
        time.sleep(0.3)  # both regions' threads found nothing and wait out their 30 s interval
        with router.unit_of_work("kin") as uow:
            event_id = outbox.publish(uow.session, "order.requested", {"to_region": "fdf"})
            uow.commit()
        committed = time.monotonic()
        while event_id not in applied and time.monotonic() < committed + 5:
            time.sleep(0.01)
    finally:
        stop.set()
        relaying.join(timeout=5)
    assert event_id in applied and applied[event_id] - committed < 1.0


def test_a_running_relay_does_its_chores_on_their_own_schedule_and_a_drain_on_every_pass(router):
    """Woken passes come many times a second under load; the sweeps and webhook sends they
    carry are due by the second, so a running relay does them at most every `chores_every`."""
    chores = []
    registry = HandlerRegistry()
    registry.on("parcel.scanned")(lambda event: None)
    relay = Relay(router, registry, policy=RelayPolicy(chores_every=timedelta(hours=1)),
                  chores=[lambda region: chores.append(region) and 0])
    stop = threading.Event()
    relaying = threading.Thread(target=relay.run_forever, args=(stop, 30.0, ["kin"]))
    relaying.start()
    try:
        for _ in range(5):  # five commits: five woken passes
            publish(router, "kin", "parcel.scanned")
            time.sleep(0.1)
    finally:
        stop.set()
        relaying.join(timeout=5)
    assert chores == ["kin"]  # the first pass's, and none again within the hour
    relay.run_once(["kin"])
    relay.run_once(["kin"])
    assert chores == ["kin"] * 3
