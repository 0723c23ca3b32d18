"""The broker transport on real nats-server processes: the relay's publish is acknowledged
before the event counts as delivered, consumers apply once and in order per key, a failing
consumer is retried and parked alone in its region; between two linked data centers events
reach the other region through its own broker and, while it is cut off, wait and arrive once,
in order, when it returns."""

import time
from datetime import timedelta

import pytest

from marketplace.errors import RegionUnavailable
from marketplace.events import deliveries
from marketplace.events.broker import BrokerTransport
from marketplace.regions import outbox
from marketplace.regions.models import OutboxEvent
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy
from tests.support.nats import linked_brokers, nats_server  # noqa: F401  (fixtures)

FAST = RelayPolicy(backoff_base=timedelta(milliseconds=50), max_attempts=3, lease=timedelta(seconds=10))


@pytest.fixture
def transports():
    opened = []

    def open_transport(router, registry, url, **kwargs):
        transport = BrokerTransport(router, registry, url=url, policy=FAST, **kwargs)
        opened.append(transport)
        return transport

    yield open_transport
    for transport in opened:
        transport.close()


def publish(router, region, topic, payload, **envelope):
    with router.unit_of_work(region) as uow:
        event_id = outbox.publish(uow.session, topic, payload, **envelope)
        uow.commit()
    return event_id


def consume_until(transport, done, regions=None, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        transport.consume_ready(regions)
    assert done(), "the consumers did not get there in time"


def test_the_relay_counts_an_event_delivered_once_the_broker_has_it_and_consumers_apply_it_once(
        router, nats_server, transports):
    registry = HandlerRegistry()
    applied = []
    registry.consumer("ledger", "order.paid")(lambda envelope: applied.append(envelope.event_id))
    transport = transports(router, registry, nats_server.url)
    event_id = publish(router, "kin", "order.paid", {"order_id": "ord_1"})
    relay = Relay(router, registry, transport=transport, policy=FAST)
    assert relay.drain().delivered == 1
    with router.unit_of_work("kin", read_only=True) as uow:
        row = uow.session.get(OutboxEvent, event_id)
        envelope = outbox.Event(row.id, "kin", row.topic, row.payload, row.created_at, 1, row.partition_key).envelope
    transport.send(envelope)  # the acknowledgement was lost and the relay sends it again: de-duplicated
    consume_until(transport, lambda: applied)
    time.sleep(0.3)
    transport.consume_ready()
    assert applied == [event_id]

    nats_server.stop()  # the region's broker is away: the relay keeps its events
    later = publish(router, "kin", "order.paid", {"order_id": "ord_2"})
    stats = relay.run_once(["kin"])
    assert (stats.delivered, stats.failed) == (0, 1)
    nats_server.start()
    deadline = time.monotonic() + 15
    while relay.drain(["kin"]).delivered == 0 and time.monotonic() < deadline:
        with router.unit_of_work("kin") as uow:  # skip the backoff
            uow.session.get(OutboxEvent, later).available_at = outbox.utcnow()
            uow.commit()
    consume_until(transport, lambda: later in applied)
    assert applied == [event_id, later]


def test_a_failing_consumer_is_retried_then_parked_in_its_region_and_its_key_waits(router, nats_server, transports):
    registry = HandlerRegistry()
    stock, audit = [], []
    registry.consumer("audit", "stock.changed")(lambda envelope: audit.append(envelope.payload["n"]))
    broken_on = {"n": 1, "times": 1}

    def apply_stock(envelope):
        if envelope.payload["n"] == broken_on["n"] and broken_on["times"] > 0:
            broken_on["times"] -= 1
            raise ConnectionError("warehouse system down")
        if envelope.payload["n"] == 4:
            raise ValueError("unknown warehouse")
        stock.append((envelope.key, envelope.payload["n"]))

    registry.consumer("stock", "stock.changed")(apply_stock)
    transport = transports(router, registry, nats_server.url)
    publish(router, "sdq", "stock.changed", {"n": 1}, key="prd_A")
    publish(router, "sdq", "stock.changed", {"n": 2}, key="prd_A")
    publish(router, "sdq", "stock.changed", {"n": 3}, key="prd_B")
    parked_id = publish(router, "sdq", "stock.changed", {"n": 4}, key="prd_C")
    Relay(router, registry, transport=transport, policy=FAST).drain()

    consume_until(transport, lambda: len(stock) == 3 and deliveries.parked(router, "sdq"))
    assert [n for key, n in stock if key == "prd_A"] == [1, 2]  # 2 waited for 1's retry
    assert ("prd_B", 3) in stock
    assert sorted(audit) == [1, 2, 3, 4]  # the other consumer applied each once, never re-run
    [parked] = deliveries.parked(router, "sdq")
    assert (parked.consumer, parked.event_id, parked.attempts) == ("stock", parked_id, 3)
    assert "unknown warehouse" in parked.last_error


def test_events_reach_another_data_center_through_its_own_broker_and_wait_out_a_cut(router, linked_brokers, transports):
    kin_broker, sdq_broker = linked_brokers
    applied = {"kin": [], "sdq": []}

    def registry_for(region):
        registry = HandlerRegistry()
        registry.consumer("directory.copy", "merchant.registered", everywhere=True)(
            lambda envelope: applied[region].append((envelope.source_region, envelope.payload["n"])))
        return registry

    kin = transports(router, registry_for("kin"), kin_broker.url, regions=["kin"], peers=["kin", "sdq"])
    sdq = transports(router, registry_for("sdq"), sdq_broker.url, regions=["sdq"], peers=["kin", "sdq"])
    kin_relay = Relay(router, kin.registry, transport=kin, policy=FAST)
    publish(router, "kin", "merchant.registered", {"merchant_id": "mer_1", "n": 0})
    assert kin_relay.drain(["kin"]).delivered == 1
    consume_until(sdq, lambda: applied["sdq"])
    assert applied["sdq"] == [("kin", 0)]

    sdq_broker.stop()  # the sea cable to sdq is cut: its data center's broker is gone
    for n in range(1, 6):
        publish(router, "kin", "merchant.registered", {"merchant_id": "mer_1", "n": n})
    assert kin_relay.drain(["kin"]).delivered == 5  # kin's own broker has them
    time.sleep(1)
    sdq_broker.start()
    consume_until(sdq, lambda: len(applied["sdq"]) == 6, seconds=30)
    time.sleep(0.5)
    sdq.consume_ready()
    assert applied["sdq"] == [("kin", n) for n in range(6)]  # once each, in order
    assert deliveries.parked(router, "sdq") == []
    consume_until(kin, lambda: len(applied["kin"]) == 6)
    assert applied["kin"] == [("kin", n) for n in range(6)]


def test_with_a_broker_url_the_app_relays_through_the_broker_and_its_consumers_run_an_import(
        database_config, nats_server):
    from marketplace.catalog import importer
    from tests.conftest import make_app
    from tests.integration.test_catalog_import import GOOD_CSV
    from tests.support import databases
    from marketplace.merchants.accounts import sign_up

    app = make_app(database_config, CPU_BROKER_URL=nats_server.url)
    platform = app.extensions["cpu"]
    try:
        merchant = sign_up(router=platform.router, trading_name="Broker Imports", legal_name="Broker Imports Ltd",
                           home_country="JM", email="owner@broker-imports.example", password="long enough pw",
                           handle="broker-imports")
        job = importer.submit_job(router=platform.router, principal=merchant, filename="catalog.csv",
                                  content=GOOD_CSV.read_bytes())
        assert platform.relay().drain().delivered >= 1  # on the broker now; nothing applied in process
        assert importer.get_job(router=platform.router, principal=merchant, job_id=job.id).status == "queued"
        consumed = app.test_cli_runner().invoke(args=["cpu", "events", "consume", "--once", "--region", merchant.region])
        assert consumed.exit_code == 0 and "applied 1," in consumed.output, consumed.output
        assert importer.get_job(router=platform.router, principal=merchant, job_id=job.id).status == "done"
    finally:
        platform.broker.close()
        databases.wipe(platform.router)
        platform.router.dispose()


def test_events_held_behind_a_retried_one_of_their_key_are_applied_in_stream_order(router, nats_server, transports):
    """JetStream redelivers NAKed messages each by its own delay: once the retried event is
    applied, a newer event of its key can arrive before the held ones come back, and must wait
    for them (the drill saw a merchant's renames applied out of order after a freeze)."""
    registry = HandlerRegistry()
    applied, failures = [], {"left": 1}

    def apply(envelope):
        if envelope.payload["n"] == 0 and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("ledger busy")
        applied.append(envelope.payload["n"])

    registry.consumer("ledger", "stock.changed")(apply)
    transport = transports(router, registry, nats_server.url)
    transport.policy = RelayPolicy(backoff_base=timedelta(seconds=2), max_attempts=5, lease=timedelta(seconds=10))
    relay = Relay(router, registry, transport=transport, policy=FAST)

    def send(*numbers):
        for n in numbers:
            publish(router, "kin", "stock.changed", {"n": n}, key="prd_A")
        relay.drain()

    send(0)
    consume_until(transport, lambda: failures["left"] == 0, ["kin"])  # 0 failed: back in 2 s
    time.sleep(1)
    send(1, 2)
    transport.consume_ready(["kin"])  # 1 and 2 held behind 0, back after 0 is
    consume_until(transport, lambda: 0 in applied, ["kin"])
    send(3)  # arrives while 1 and 2 may still be away
    consume_until(transport, lambda: len(applied) == 4, ["kin"], seconds=30)
    assert applied == [0, 1, 2, 3]


def test_a_consumer_whose_own_region_is_away_spends_no_attempts_and_parks_nothing(router, nats_server, transports):
    """However long its region's database is away, its events wait in the broker: a region that
    is down is not an event that fails."""
    registry = HandlerRegistry()
    applied, away = [], {"times": 6}

    def apply(envelope):
        if away["times"]:
            away["times"] -= 1
            raise RegionUnavailable("kin", retry_after=1)
        applied.append(envelope.payload["n"])

    registry.consumer("ledger", "stock.changed")(apply)
    transport = transports(router, registry, nats_server.url)  # FAST: parked after 3 attempts
    for n in range(3):
        publish(router, "kin", "stock.changed", {"n": n}, key="prd_A")
    Relay(router, registry, transport=transport, policy=FAST).drain()
    consume_until(transport, lambda: len(applied) == 3, ["kin"], seconds=30)
    assert applied == [0, 1, 2]
    assert deliveries.parked(router, "kin") == [] and transport.failures == {}
