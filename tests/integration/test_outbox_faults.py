"""The relay under faults: a handler that ends its process, a relay that lost its lease, a
handler slower than the lease, relays whose host clocks disagree, and the operator's replay
of everything a broken consumer parked."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from marketplace.regions import base, outbox
from marketplace.regions.models import OutboxEvent
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy

pytestmark = pytest.mark.storage

POLICY = RelayPolicy(lease=timedelta(seconds=30), backoff_base=timedelta(milliseconds=1), max_attempts=3)


class ProcessDied(BaseException):
    """A handler that ends the relay's process: not an Exception, so nothing records it."""


def publish(router, region, topic, count=1):
    with router.unit_of_work(region) as uow:
        ids = [outbox.publish(uow.session, topic, {"n": n}) for n in range(count)]
        uow.commit()
    return ids


def let_leases_run_out(router, region):
    """What time does to a dead relay's claims; the lease would run out by itself."""
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(OutboxEvent).where(OutboxEvent.claimed_until.is_not(None))
                            .values(claimed_until=base.database_now(uow.session) - timedelta(seconds=1)))
        uow.commit()


def event(router, region, event_id):
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.get(OutboxEvent, event_id)


def test_an_event_whose_handler_ends_the_process_is_parked_after_its_attempts(router):
    registry = HandlerRegistry()
    runs = Counter()

    def lethal(evt):
        runs[evt.id] += 1
        raise ProcessDied()

    registry.on("label.print")(lethal)
    [event_id] = publish(router, "kin", "label.print")
    for restart in range(POLICY.max_attempts):
        with pytest.raises(ProcessDied):
            Relay(router, registry, policy=POLICY, worker=f"relay-{restart}").run_once(["kin"])
        let_leases_run_out(router, "kin")
    stats = Relay(router, registry, policy=POLICY, worker="relay-last").drain(["kin"])
    assert runs[event_id] == POLICY.max_attempts  # not one run more: the process would die again
    assert stats.parked == 1
    [parked] = outbox.parked_events(router, "kin")
    assert parked.id == event_id and parked.attempts == POLICY.max_attempts
    assert "stopped before recording an outcome" in parked.last_error


def test_a_relay_whose_lease_ran_out_cannot_record_an_outcome(router):
    registry = HandlerRegistry()
    handled = []
    gate = threading.Event()
    holding = threading.Event()

    def handler(evt):
        handled.append(threading.current_thread().name)
        if threading.current_thread().name == "stale":
            holding.set()
            gate.wait(10)  # paused (a GC pause, a frozen VM) past its lease
            raise ConnectionError("the stale relay's own failure")

    registry.on("payout.due")(handler)
    [event_id] = publish(router, "sdq", "payout.due")
    policy = RelayPolicy(lease=timedelta(seconds=30), max_attempts=5)
    stale_stats = {}
    stale = threading.Thread(name="stale", target=lambda: stale_stats.update(
        stats=Relay(router, registry, policy=policy, worker="stale").run_once(["sdq"])))
    stale.start()
    assert holding.wait(10)
    let_leases_run_out(router, "sdq")
    fresh = Relay(router, registry, policy=policy, worker="fresh").run_once(["sdq"])
    gate.set()
    stale.join(10)
    assert fresh.delivered == 1
    assert stale_stats["stats"].lost == 1 and stale_stats["stats"].failed == 0
    row = event(router, "sdq", event_id)
    assert row.delivered_at is not None and row.last_error is None  # the stale failure did not undo it


def test_a_handler_slower_than_its_lease_keeps_the_event_from_a_second_relay(router):
    registry = HandlerRegistry()
    runs = Counter()

    def slow(evt):
        runs[evt.id] += 1
        time.sleep(1.6)

    registry.on("customs.declare")(slow)
    [event_id] = publish(router, "fdf", "customs.declare")
    policy = RelayPolicy(lease=timedelta(seconds=1))
    first = threading.Thread(target=Relay(router, registry, policy=policy, worker="slow").run_once, args=(["fdf"],))
    first.start()
    time.sleep(1.2)  # past the lease the claim took
    taken = Relay(router, registry, policy=policy, worker="eager").run_once(["fdf"])
    first.join(10)
    assert taken.delivered == 0
    assert runs[event_id] == 1 and event(router, "fdf", event_id).delivered_at is not None


def test_relays_whose_clocks_are_ten_minutes_apart_deliver_each_event_to_each_consumer_once(router, monkeypatch):
    """Leases are read off the database's clock: a relay host running ten minutes ahead sees
    no other relay's lease as run out."""
    registry = HandlerRegistry()
    counts = {"search": Counter(), "mail": Counter()}
    for consumer, seen in counts.items():
        registry.on("merchant.renamed")(lambda evt, seen=seen: (seen.update([evt.id]), time.sleep(0.02)))
    ids = publish(router, "bgi", "merchant.renamed", count=20)

    real_now = base.utcnow
    skewed = lambda: real_now() + (timedelta(minutes=10) if threading.current_thread().name == "ahead" else timedelta(0))
    for module in (base, outbox):
        monkeypatch.setattr(module, "utcnow", skewed)
    policy = RelayPolicy(lease=timedelta(seconds=30), batch_size=5)
    relays = [threading.Thread(name=name, target=Relay(router, registry, policy=policy, worker=name).drain, args=(["bgi"],))
              for name in ("ahead", "behind")]
    for relay in relays:
        relay.start()
    for relay in relays:
        relay.join(30)
    for consumer, seen in counts.items():
        assert sorted(seen) == sorted(ids), consumer
        assert set(seen.values()) == {1}, consumer


def test_the_operator_replays_every_parked_event_of_a_topic(app, router):
    registry = HandlerRegistry()
    registry.on("label.print")(lambda evt: (_ for _ in ()).throw(ConnectionError("printer offline")))
    registry.on("mail.send")(lambda evt: None)
    labels = publish(router, "pos", "label.print", count=3)
    with router.unit_of_work("pos") as uow:
        other = outbox.publish_parked(uow.session, "search.rebuild", {}, reason="bad document")
        uow.commit()
    Relay(router, registry, policy=POLICY).drain(["pos"])
    for _ in range(POLICY.max_attempts):
        Relay(router, registry, policy=POLICY).drain(["pos"])
        time.sleep(0.01)
    assert {e.id for e in outbox.parked_events(router, "pos", topic="label.print")} == set(labels)

    listing = app.test_cli_runner().invoke(args=["cpu", "outbox", "parked", "--topic", "label.print"])
    assert listing.exit_code == 0 and "printer offline" in listing.output and other not in listing.output
    result = app.test_cli_runner().invoke(args=["cpu", "outbox", "replay", "--topic", "label.print", "--region", "pos"])
    assert result.exit_code == 0, result.output
    assert "pos 3 event(s) queued again" in result.output
    assert [e.id for e in outbox.parked_events(router, "pos")] == [other]  # another topic's stays parked
    refused = app.test_cli_runner().invoke(args=["cpu", "outbox", "replay"])
    assert refused.exit_code != 0 and "event id" in refused.output


def test_the_claim_query_reads_the_pending_index(router):
    publish(router, "kin", "x", count=3)
    with router.unit_of_work("kin") as uow:
        dialect = uow.session.get_bind().dialect.name
        claim = ("SELECT id FROM outbox_events WHERE delivered_at IS NULL AND parked_at IS NULL "
                 "AND available_at <= :now ORDER BY id LIMIT 100")
        now = base.database_now(uow.session)
        if dialect == "postgresql":
            uow.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(uow.session.scalars(text("EXPLAIN " + claim), {"now": now}))
        else:
            plan = " ".join(str(row[-1]) for row in uow.session.execute(text("EXPLAIN QUERY PLAN " + claim), {"now": now}))
    assert "ix_outbox_events_ready" in plan, plan
