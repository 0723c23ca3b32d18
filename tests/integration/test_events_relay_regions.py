"""The relay handles regions independently: one region gone silent never delays another
region's events, and what it logs names the region it is about."""

import logging
import threading
import time

from marketplace.regions import outbox
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy

SILENCE = 3.0  # seconds each unit of work on the silent region waits before it gets through


def test_a_silent_region_never_delays_another_regions_events(router, monkeypatch):
    registry = HandlerRegistry()
    delivered = {}
    registry.on("parcel.scanned")(lambda event: delivered.setdefault(event.region, time.monotonic()))
    opened = router.unit_of_work
    stop = threading.Event()

    def silent_kin(region, **kwargs):
        if region == "kin":  # a frozen server: the kernel answers, the database does not (until the test ends)
            stop.wait(SILENCE)
        return opened(region, **kwargs)

    monkeypatch.setattr(router, "unit_of_work", silent_kin)
    relaying = threading.Thread(target=Relay(router, registry, policy=RelayPolicy()).run_forever, args=(stop, 0.05))
    relaying.start()
    try:
        time.sleep(0.3)  # the relay is waiting on kin by now
        with opened("sdq") as uow:
            outbox.publish(uow.session, "parcel.scanned", {"s10": "RR123456785JM"})
            uow.commit()
        committed = time.monotonic()
        deadline = committed + SILENCE
        while "sdq" not in delivered and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        relaying.join(timeout=2 * SILENCE)
    assert not relaying.is_alive()
    assert "sdq" in delivered and delivered["sdq"] - committed < 1.0


def test_relay_log_lines_name_the_region_they_are_about(router, caplog):
    registry = HandlerRegistry()
    registry.on("parcel.scanned")(lambda event: (_ for _ in ()).throw(ConnectionError("operator down")))
    with router.unit_of_work("kin") as uow:
        outbox.publish(uow.session, "parcel.scanned", {})
        uow.commit()
    router.health.mark_down("bgi", "test outage")
    with caplog.at_level(logging.WARNING, logger="marketplace.regions.outbox"):
        Relay(router, registry, policy=RelayPolicy(max_attempts=5)).run_once()
    assert [r.region for r in caplog.records if "will be retried" in r.getMessage()] == ["kin"]
    assert [r.region for r in caplog.records if "unreachable" in r.getMessage()] == ["bgi"]
