"""The operator's commands: relay, parked events, replay, demo data."""

from datetime import timedelta

from marketplace.regions import outbox
from marketplace.regions.outbox import RelayPolicy


def test_relay_once_delivers_what_is_ready_and_says_so(app, router):
    with router.unit_of_work("pos") as uow:
        outbox.publish(uow.session, "merchant.registered", {})  # announced, no consumer yet
        uow.commit()
    result = app.test_cli_runner().invoke(args=["cpu", "relay", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 1, failed 0, parked 0" in result.output


def test_relay_refuses_an_unknown_region(app):
    result = app.test_cli_runner().invoke(args=["cpu", "relay", "--once", "--region", "atlantis"])
    assert result.exit_code == 2 and "unknown region(s): atlantis" in result.output


def test_operators_see_parked_events_and_replay_them(app, platform, router):
    platform.handlers.on("always.fails")(lambda event: (_ for _ in ()).throw(ValueError("bad payload")))
    with router.unit_of_work("sxm") as uow:
        event_id = outbox.publish(uow.session, "always.fails", {})
        uow.commit()
    platform.relay(policy=RelayPolicy(max_attempts=1, backoff_base=timedelta(0))).drain()

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["cpu", "outbox", "parked"])
    assert f"sxm {event_id} always.fails attempts=1" in listing.output
    assert "ValueError: bad payload" in listing.output and "1 parked event(s)" in listing.output

    replayed = runner.invoke(args=["cpu", "outbox", "replay", event_id])
    assert replayed.exit_code == 0 and f"{event_id} queued again in sxm" in replayed.output
    again = runner.invoke(args=["cpu", "outbox", "replay", event_id])
    assert again.exit_code == 1 and "is not parked" in again.output


def test_demo_data_loads_once_however_often_it_runs(app, router):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cpu", "demo"])
    second = runner.invoke(args=["cpu", "demo"])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output  # the same merchants, same ids
    regions = {line.split()[0] for line in first.output.splitlines()[:-1]}
    assert regions == {"kin", "sdq", "sxm", "fdf", "bgi", "pos"}
