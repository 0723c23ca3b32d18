"""The outbox delivers every committed event at least once, never a rolled-back one, survives
a relay crash, parks what keeps failing, and lets relays run side by side."""

import re
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from ulid import ULID

from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.models import IdempotencyRecord, OutboxEvent, RegistrationKey
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy

FAST = RelayPolicy(lease=timedelta(seconds=30), backoff_base=timedelta(milliseconds=1), max_attempts=3)


class RelayCrash(BaseException):
    """Stands for the relay process dying: not an Exception, so nothing catches it."""


def publish(router, region, topic, count=1, **payload):
    ids = []
    with router.unit_of_work(region) as uow:
        for n in range(count):
            ids.append(outbox.publish(uow.session, topic, {"n": n, **payload}))
        uow.commit()
    return ids


def recording(registry, topic):
    seen = []
    registry.on(topic)(lambda event: seen.append(event.id))
    return seen


def test_an_event_whose_transaction_rolls_back_is_never_delivered(router):
    registry = HandlerRegistry()
    seen = recording(registry, "thing.happened")
    with pytest.raises(RuntimeError), router.unit_of_work("kin") as uow:
        outbox.publish(uow.session, "thing.happened", {})
        raise RuntimeError("the change failed")
    committed = publish(router, "kin", "thing.happened")
    Relay(router, registry, policy=FAST).drain()
    assert seen == committed


def test_committed_events_reach_their_handlers_with_their_payload(router):
    registry = HandlerRegistry()
    received = []
    registry.on("order.placed")(lambda event: received.append((event.region, event.payload)))
    publish(router, "sdq", "order.placed", order="ord_1")
    publish(router, "pos", "order.placed", order="ord_2")
    stats = Relay(router, registry, policy=FAST).drain()
    assert stats.delivered == 2
    assert sorted(received) == [("pos", {"n": 0, "order": "ord_2"}), ("sdq", {"n": 0, "order": "ord_1"})]


def test_a_relay_that_crashes_mid_batch_loses_nothing(router):
    registry = HandlerRegistry()
    deliveries = Counter()
    crash_on = {"armed": True}

    def handler(event):
        if event.payload["n"] == 2 and crash_on["armed"]:
            crash_on["armed"] = False
            raise RelayCrash()
        deliveries[event.id] += 1

    registry.on("stock.changed")(handler)
    ids = publish(router, "kin", "stock.changed", count=5)
    short_lease = RelayPolicy(lease=timedelta(milliseconds=300))
    with pytest.raises(RelayCrash):
        Relay(router, registry, policy=short_lease, worker="relay-a").run_once(["kin"])
    assert set(deliveries) == set(ids[:2])  # two delivered before the crash, the rest still claimed

    restarted = Relay(router, registry, policy=short_lease, worker="relay-b")
    assert restarted.drain(["kin"]).delivered == 0  # the dead relay's lease still holds them
    time.sleep(0.35)
    restarted.drain(["kin"])
    assert set(deliveries) == set(ids)
    assert all(deliveries[i] == 1 for i in ids[:2])  # what was recorded as delivered is not sent again


def test_a_failing_handler_is_retried_then_parked_then_replayed(router):
    registry = HandlerRegistry()
    healthy = {"now": False}
    delivered = []

    def flaky(event):
        if not healthy["now"]:
            raise ConnectionError("postal operator down")
        delivered.append(event.id)

    registry.on("label.requested")(flaky)
    [event_id] = publish(router, "bgi", "label.requested")
    relay = Relay(router, registry, policy=FAST)
    for _ in range(10):
        relay.drain()
        time.sleep(0.01)
    [parked] = outbox.parked_events(router, "bgi")
    assert (parked.id, parked.attempts) == (event_id, 3)
    assert "postal operator down" in parked.last_error

    healthy["now"] = True
    relay.drain()
    assert delivered == []  # parked events wait for an operator
    assert outbox.replay(router, event_id) == "bgi"
    relay.drain()
    assert delivered == [event_id]
    assert outbox.parked_events(router, "bgi") == []


def test_the_relay_skips_an_unreachable_region_and_serves_the_others(router):
    registry = HandlerRegistry()
    seen = recording(registry, "x")
    publish(router, "kin", "x")
    [sdq_event] = publish(router, "sdq", "x")
    router.health.mark_down("kin", "test outage")
    stats = Relay(router, registry, policy=FAST).drain()
    assert seen == [sdq_event]
    assert "kin" in stats.skipped_regions


def test_two_relays_side_by_side_never_deliver_the_same_event_twice(router):
    registry = HandlerRegistry()
    deliveries = Counter()
    lock = threading.Lock()

    def handler(event):
        with lock:
            deliveries[event.id] += 1
        time.sleep(0.001)

    registry.on("bulk")(handler)
    ids = publish(router, "fdf", "bulk", count=200)
    policy = RelayPolicy(batch_size=10)
    relays = [Relay(router, registry, policy=policy, worker=f"relay-{n}") for n in range(2)]
    shares = {}
    threads = [threading.Thread(target=lambda r=r: shares.update({r.worker: r.drain(["fdf"]).delivered})) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(deliveries) == set(ids)
    assert max(deliveries.values()) == 1
    assert sum(shares.values()) == 200 and all(shares.values()), shares  # both relays did part of the work


def test_an_event_nobody_consumes_is_parked_not_dropped(router):
    registry = HandlerRegistry()
    [event_id] = publish(router, "sxm", "typo.in.topic")
    Relay(router, registry, policy=RelayPolicy(max_attempts=1)).drain()
    [parked] = outbox.parked_events(router, "sxm")
    assert parked.id == event_id and "no handler registered for topic 'typo.in.topic'" in parked.last_error


def test_an_announced_topic_without_consumers_is_delivered_quietly(router):
    registry = HandlerRegistry()
    registry.announce("merchant.registered")
    publish(router, "sxm", "merchant.registered")
    assert Relay(router, registry).drain().delivered == 1
    assert outbox.parked_events(router, "sxm") == []


def test_one_broken_region_does_not_stop_the_relay_for_the_others(router, monkeypatch):
    registry = HandlerRegistry()
    seen = recording(registry, "x")
    [pos_event] = publish(router, "pos", "x")
    relay = Relay(router, registry)
    original = relay._claim

    def broken_in_kin(region):
        if region == "kin":
            raise RuntimeError("corrupt shard")
        return original(region)

    monkeypatch.setattr(relay, "_claim", broken_in_kin)
    stats = relay.run_once()
    assert seen == [pos_event] and "kin" in stats.skipped_regions


def old_event(router, region, *, days_ago, delivered=True, parked=False, delivered_days_ago=None):
    """An event written `days_ago` days ago (its id says when, as a real one would)."""
    created = utcnow() - timedelta(days=days_ago)
    delivered_at = utcnow() - timedelta(days=days_ago if delivered_days_ago is None else delivered_days_ago)
    event_id = f"evt_{ULID.from_datetime(created)}"
    with router.unit_of_work(region) as uow:
        uow.session.add(OutboxEvent(id=event_id, region=region, topic="x", payload={}, created_at=created,
                                    available_at=created, delivered_at=delivered_at if delivered else None,
                                    parked_at=created if parked else None))
        uow.commit()
    return event_id


def event_ids(router, region):
    with router.unit_of_work(region, read_only=True) as uow:
        return set(uow.session.scalars(select(OutboxEvent.id)))


def test_delivered_events_past_the_retention_are_pruned_and_nothing_else(router):
    old_delivered = [old_event(router, "sxm", days_ago=9) for _ in range(3)]
    kept = {old_event(router, "sxm", days_ago=9, delivered=False),  # still to deliver: never pruned
            old_event(router, "sxm", days_ago=9, delivered=False, parked=True),  # waits for an operator
            old_event(router, "sxm", days_ago=2),  # delivered, within the week
            old_event(router, "sxm", days_ago=9, delivered_days_ago=1)}  # replayed late: kept its full week
    relay = Relay(router, HandlerRegistry(), policy=RelayPolicy(retention=timedelta(days=7)))
    assert relay.prune(["sxm"]).deleted == {"sxm": len(old_delivered)}
    assert event_ids(router, "sxm") == kept
    assert outbox.prune(router, "sxm", older_than=timedelta(hours=1), batch=1) == (2, False)  # batches add up


def test_a_pass_over_a_large_backlog_is_bounded_and_says_more_is_left(router):
    for _ in range(5):
        old_event(router, "sxm", days_ago=30)
    assert outbox.prune(router, "sxm", older_than=timedelta(days=7), batch=2, max_batches=2) == (4, True)
    assert outbox.prune(router, "sxm", older_than=timedelta(days=7), batch=2, max_batches=2) == (1, False)


def test_the_prune_command_reports_each_region_and_says_which_it_could_not_reach(app, router):
    old_event(router, "kin", days_ago=30)
    router.health.mark_down("pos", "hurricane")
    result = app.test_cli_runner().invoke(args=["cpu", "outbox", "prune", "--days", "7"])
    assert result.exit_code != 0
    assert re.search(r"^kin\s+1 events deleted, 0 idempotency keys forgotten$", result.output, re.MULTILINE)
    assert re.search(r"^pos\s+not pruned \(unreachable", result.output, re.MULTILINE)


def test_a_running_relay_prunes_by_itself(router):
    old_event(router, "fdf", days_ago=8)
    stop = threading.Event()
    relay = Relay(router, HandlerRegistry(), policy=RelayPolicy(retention=timedelta(days=7)))
    thread = threading.Thread(target=relay.run_forever, args=(stop, 0.01))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while event_ids(router, "fdf") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert event_ids(router, "fdf") == set()


def test_a_slow_batch_keeps_its_lease_so_no_other_relay_takes_its_events(router):
    """A batch that outlasts its lease renews it: a second relay polling meanwhile finds
    nothing to take, and every event is handled once."""
    registry = HandlerRegistry()
    deliveries = Counter()

    def slow(event):
        deliveries[event.id] += 1
        time.sleep(0.25)

    registry.on("label.print")(slow)
    ids = publish(router, "bgi", "label.print", count=6)
    policy = RelayPolicy(lease=timedelta(seconds=1))
    first = threading.Thread(target=Relay(router, registry, policy=policy, worker="slow").run_once, args=(["bgi"],))
    first.start()
    time.sleep(1.2)  # past the first lease
    taken = Relay(router, registry, policy=policy, worker="eager").run_once(["bgi"])
    first.join(10)
    assert taken.delivered == 0
    assert sorted(deliveries) == sorted(ids) and set(deliveries.values()) == {1}


def test_idempotency_keys_are_forgotten_after_thirty_days(router):
    with router.unit_of_work("kin") as uow:
        for key, days in (("old-1", 31), ("old-2", 45), ("recent", 29)):
            uow.session.add(IdempotencyRecord(scope="catalog.product.create:mer_x", key=key, fingerprint="f" * 64,
                                              resource_id="mer_x", created_at=utcnow() - timedelta(days=days)))
        uow.commit()
    pruned = Relay(router, HandlerRegistry()).prune(["kin"])
    assert pruned.keys == {"kin": 2}
    with router.unit_of_work("kin", read_only=True) as uow:
        assert set(uow.session.scalars(select(IdempotencyRecord.key))) == {"recent"}


def test_registration_keys_in_the_directory_are_forgotten_after_thirty_days(router):
    with router.directory() as uow:
        for key, days in (("reg-old", 40), ("reg-new", 3)):
            uow.session.add(RegistrationKey(key=key, fingerprint="f" * 64, merchant_id="mer_x",
                                            created_at=utcnow() - timedelta(days=days)))
        uow.commit()
    assert Relay(router, HandlerRegistry()).prune().registration_keys == 1
    with router.directory(read_only=True) as uow:
        assert set(uow.session.scalars(select(RegistrationKey.key))) == {"reg-new"}
