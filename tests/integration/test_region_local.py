"""A process with CPU_REGION set belongs to one data center: it opens its own shard and the
directory, never another region's shard, and says so with a 421 naming the home region."""

from datetime import timedelta

import pytest

from marketplace import config
from marketplace.errors import NotFound
from marketplace.merchants import storefronts
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.router import DIRECTORY, ForeignRegion
from search import indexer
from tests.support import databases
from tests.support.merchants import open_account, registration


def test_an_unknown_region_is_refused_at_start_by_name():
    with pytest.raises(config.ConfigError, match="CPU_REGION='atlantis' is not a region"):
        config.load({"CPU_REGION": "atlantis"}, environ={})


def test_without_a_region_one_process_serves_all_six(app, router):
    assert router.region is None
    assert router.database_names == ("kin", "sdq", "sxm", "fdf", "bgi", "pos", DIRECTORY)


def test_a_region_process_needs_no_url_for_other_regions_shards():
    settings = config.load({"CPU_REGION": "kin", "CPU_DATABASE_URL_TEMPLATE": "postgresql://db/{name}"}, environ={})
    assert set(settings.database_urls) == {"kin"}


def test_opening_another_regions_shard_raises_without_connecting(kin_app, database_config, opened):
    router = kin_app.extensions["cpu"].router
    with pytest.raises(ForeignRegion) as refused:
        router.unit_of_work("fdf")
    with pytest.raises(ForeignRegion):
        router.engine("fdf")
    assert refused.value.region == "fdf" and refused.value.status == 421
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}


def test_a_request_for_another_regions_merchant_is_misdirected_naming_its_home(kin_app, router, app):
    martinique = open_account(router, "Rhum Agricole", "MQ")  # written by an all-regions process
    response = kin_app.test_client().get(f"/api/v1/merchants/{martinique.id}")
    assert response.status_code == 421
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["region"] == "fdf" and body["served_here"] == "kin"
    assert "Retry-After" not in response.headers


def test_every_loop_over_regions_touches_only_the_own_region(kin_app, database_config, opened):
    platform = kin_app.extensions["cpu"]
    router = platform.router
    kingston = open_account(router, "Blue Mountain Roasters", "JM")
    assert [m.id for m in storefronts.newest(router=router).merchants] == [kingston.id]
    assert kin_app.test_client().get("/").status_code == 200
    platform.relay().drain()
    platform.relay().prune()
    with pytest.raises(NotFound):
        outbox.replay(router, "evt_notthere")
    try:
        indexer.catch_up(router, since=utcnow() - timedelta(hours=1))
    except indexer.CatchUpIncomplete:
        pass  # the other regions are not this process's to reach; none was opened (below)
    assert databases.opened_names(database_config, opened) == {"kin", DIRECTORY}


def test_db_upgrade_in_a_region_process_upgrades_its_shard_and_the_directory(kin_app):
    result = kin_app.test_cli_runner().invoke(args=["cpu", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == ["kin", DIRECTORY]


def test_a_sign_up_for_another_region_is_misdirected_and_leaves_its_names_free(kin_app, client):
    body = registration("Fort Royal Vanille", "MQ")
    refused = kin_app.test_client().post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "vanille-1"})
    assert refused.status_code == 421 and refused.get_json()["region"] == "fdf"
    opened = client.post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "vanille-1"})  # through fdf
    assert opened.status_code == 201, opened.get_json()


def test_region_commands_in_a_region_process_stay_in_it(kin_app, database_config, opened):
    runner = kin_app.test_cli_runner()
    refused = runner.invoke(args=["cpu", "relay", "--once", "--region", "fdf"])
    assert refused.exit_code == 2 and "fdf not served by this process (CPU_REGION=kin)" in refused.output
    parked = runner.invoke(args=["cpu", "outbox", "parked"])
    assert parked.exit_code == 0 and [line.split()[0] for line in parked.output.splitlines()[:-1]] == []
    replayed = runner.invoke(args=["cpu", "outbox", "replay", "--topic", "label.print"])
    assert replayed.exit_code == 0 and replayed.output.splitlines() == ["kin 0 event(s) queued again"]
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}
