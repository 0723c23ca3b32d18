"""Named consumers behind the embedded transport: each applies an event once (its inbox), a
failing one is retried and parked alone, events of one key reach each consumer in order."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.events import deliveries, inbox
from marketplace.events.envelope import Envelope
from marketplace.events.transports import EmbeddedTransport
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.models import ConsumerDelivery, InboxEntry, OutboxEvent
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy

FAST = RelayPolicy(backoff_base=timedelta(0), max_attempts=3)


def relay_for(router, registry, policy=FAST):
    return Relay(router, registry, transport=EmbeddedTransport(router, registry, policy=policy), policy=policy)


def publish(router, region, topic, payload, **envelope):
    with router.unit_of_work(region) as uow:
        event_id = outbox.publish(uow.session, topic, payload, **envelope)
        uow.commit()
    return event_id


def inbox_of(router, region, consumer):
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.scalars(select(InboxEntry.event_id).where(InboxEntry.consumer == consumer)).all()


def test_one_failing_consumer_is_retried_and_parked_alone_while_the_other_applies_once(router):
    registry = HandlerRegistry()
    applied, attempts, healthy = [], [], {"now": False}
    registry.consumer("ledger", "order.paid")(lambda envelope: applied.append(envelope.event_id))

    def notify(envelope):
        attempts.append(envelope.event_id)
        if not healthy["now"]:
            raise ConnectionError("notification service down")
        applied.append(("notify", envelope.event_id))

    registry.consumer("notify", "order.paid")(notify)
    event_id = publish(router, "kin", "order.paid", {"order_id": "ord_1"})
    relay = relay_for(router, registry)
    for _ in range(5):
        relay.drain()

    assert applied == [event_id]  # never re-run because its neighbour failed
    assert attempts == [event_id] * 3
    [parked] = deliveries.parked(router, "kin")
    assert (parked.consumer, parked.event_id, parked.attempts) == ("notify", event_id, 3)
    assert "notification service down" in parked.last_error
    with router.unit_of_work("kin", read_only=True) as uow:  # the outbox's part is done: it reached the transport
        assert uow.session.get(OutboxEvent, event_id).delivered_at is not None

    healthy["now"] = True
    assert deliveries.replay(router, "kin", consumer="notify") == 1
    relay.drain()
    assert applied == [event_id, ("notify", event_id)]
    assert sorted(inbox_of(router, "kin", "ledger") + inbox_of(router, "kin", "notify")) == [event_id, event_id]


def test_a_redelivered_event_is_a_no_op_for_a_consumer_that_applied_it(router):
    registry = HandlerRegistry()
    applied = []
    registry.consumer("ledger", "order.paid")(lambda envelope: applied.append(envelope.event_id))
    event_id = publish(router, "sdq", "order.paid", {"order_id": "ord_2"})
    relay = relay_for(router, registry)
    relay.drain()
    with router.unit_of_work("sdq", read_only=True) as uow:
        row = uow.session.get(OutboxEvent, event_id)
        envelope = outbox.Event(row.id, "sdq", row.topic, row.payload, row.created_at, 1, row.partition_key).envelope
    relay.transport.send(envelope)  # the relay lost its acknowledgement and sends it again
    stats = relay.drain()
    assert applied == [event_id]
    assert stats.consumed.duplicates == 1


def test_events_of_one_key_wait_for_an_earlier_failing_one_while_other_keys_go_on(router):
    registry = HandlerRegistry()
    applied = []
    failing = {"evt": None}

    def handler(envelope):
        if envelope.event_id == failing["evt"]:
            raise RuntimeError("not yet")
        applied.append((envelope.key, envelope.payload["n"]))

    registry.consumer("stock", "stock.changed")(handler)
    first = publish(router, "pos", "stock.changed", {"n": 1}, key="prd_A")
    publish(router, "pos", "stock.changed", {"n": 2}, key="prd_A")
    publish(router, "pos", "stock.changed", {"n": 3}, key="prd_B")
    failing["evt"] = first
    slow_retry = RelayPolicy(backoff_base=timedelta(minutes=5), max_attempts=3)
    relay = relay_for(router, registry, slow_retry)
    relay.drain()
    assert applied == [("prd_B", 3)]  # prd_A's second change waits behind its first

    failing["evt"] = None
    with router.unit_of_work("pos") as uow:  # the backoff is over
        uow.session.execute(update(ConsumerDelivery).values(available_at=utcnow()))
        uow.commit()
    relay.drain()
    assert applied == [("prd_B", 3), ("prd_A", 1), ("prd_A", 2)]


def test_the_envelope_carries_key_correlation_and_causation(router):
    registry = HandlerRegistry()
    seen = []
    registry.consumer("audit", "catalog.product.changed")(seen.append)
    event_id = publish(router, "fdf", "catalog.product.changed", {"product_id": "prd_9", "merchant_id": "mer_1"},
                       correlation_id="req_77", causation_id="evt_0")
    relay_for(router, registry).drain()
    [envelope] = seen
    assert (envelope.event_id, envelope.key, envelope.source_region, envelope.topic) == (
        event_id, "prd_9", "fdf", "catalog.product.changed")  # the key from partition_keys.toml
    assert (envelope.correlation_id, envelope.causation_id, envelope.schema_version) == ("req_77", "evt_0", 1)
    assert envelope.occurred_at.tzinfo is not None
    assert type(envelope).from_bytes(envelope.to_bytes()) == envelope


def test_a_transactional_consumer_records_its_inbox_in_its_own_transaction(router):
    registry = HandlerRegistry()
    calls = []

    @registry.consumer("copy", "order.paid", transactional=True)
    def copy(envelope, session):
        calls.append(envelope.event_id)
        outbox.publish(session, "order.copied", {"of": envelope.event_id})  # a write of its own
        if len(calls) == 1:
            raise RuntimeError("failed after writing")

    registry.announce("order.copied")
    event_id = publish(router, "bgi", "order.paid", {"order_id": "ord_3"})
    relay_for(router, registry).drain()
    assert calls == [event_id, event_id]  # the first try rolled back its write and its inbox record together
    with router.unit_of_work("bgi", read_only=True) as uow:
        copies = uow.session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "order.copied")).all()
    assert copies == [{"of": event_id}]
    assert inbox_of(router, "bgi", "copy") == [event_id]

    envelope = Envelope.from_dict({"event_id": event_id, "topic": "order.paid", "key": event_id,
                                              "source_region": "bgi", "occurred_at": "2026-12-02T00:00:00+00:00",
                                              "payload": {}})
    with inbox.apply(router, "bgi", "copy", envelope) as uow:
        assert uow is None  # applied before: nothing to do


def test_an_envelope_newer_than_the_code_is_refused(router):
    with pytest.raises(ValueError, match="newer"):
        Envelope.from_dict({"event_id": "evt_x", "topic": "t", "key": "k", "source_region": "kin",
                                       "occurred_at": "2026-12-02T00:00:00+00:00", "payload": {}, "schema_version": 99})


def test_operators_see_a_parked_consumer_delivery_and_replay_it(app, platform, router):
    outcomes = iter([ValueError("bad rate card"), None])

    def pricing(envelope):
        error = next(outcomes)
        if error:
            raise error

    platform.handlers.consumer("pricing.refresh", "rates.changed")(pricing)  # stays: no other test publishes it
    event_id = publish(router, "sxm", "rates.changed", {"zone": "A"})
    platform.relay(policy=RelayPolicy(max_attempts=1, backoff_base=timedelta(0))).drain()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["cpu", "events", "parked"])
    assert f"sxm pricing.refresh {event_id} rates.changed key={event_id} attempts=1" in listing.output
    assert "ValueError: bad rate card" in listing.output and "1 parked deliver(ies)" in listing.output

    replayed = runner.invoke(args=["cpu", "events", "replay", "--consumer", "pricing.refresh", "--region", "sxm"])
    assert replayed.exit_code == 0 and "sxm 1 deliver(ies) queued again" in replayed.output
    platform.relay().drain()
    assert deliveries.parked(router, "sxm") == [] and inbox_of(router, "sxm", "pricing.refresh") == [event_id]


def test_a_relay_whose_lease_ran_out_cannot_record_what_it_handed_to_the_transport(router):
    registry = HandlerRegistry()
    applied = []
    registry.consumer("ledger", "order.paid")(lambda envelope: applied.append(envelope.event_id))
    policy = RelayPolicy(lease=timedelta(milliseconds=300), backoff_base=timedelta(0))
    transport = EmbeddedTransport(router, registry, policy=policy)

    class SlowLink:
        """A send that outlasts the lease: another relay may have the event by the time it returns."""

        def send(self, envelope):
            time.sleep(0.5)
            transport.send(envelope)

        def pump(self, region):
            return transport.pump(region)

    event_id = publish(router, "kin", "order.paid", {"order_id": "ord_4"})
    stats = Relay(router, registry, transport=SlowLink(), policy=policy, worker="slow").run_once(["kin"])
    assert (stats.delivered, stats.lost) == (0, 1)
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.get(OutboxEvent, event_id).delivered_at is None  # still the relays' to deliver

    assert relay_for(router, registry, policy).drain().delivered == 1  # sent again; queued once
    assert applied == [event_id]
