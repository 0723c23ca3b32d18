"""The topology of issue 10 on this machine: six region processes (CPU_REGION set), each with
its own PostgreSQL database, and an nginx edge per data center in front of all six. A client
that knows one edge's address reaches every merchant, whichever data center it entered, and
no process ever connects to another region's shard.

Not marked `storage`: it builds its own PostgreSQL databases and runs once."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from marketplace import config
from marketplace.app import create_app
from marketplace.edge_cli import render
from marketplace.merchants import accounts, api_keys
from marketplace.regions import regionmap
from marketplace.regions.router import DIRECTORY, Router
from tests.support import databases
from tests.support.merchants import PASSWORD, registration
from tests.topology.processes import ConnectionWatch, edge, free_port, region_server, request

HOME_COUNTRIES = {"kin": "JM", "sdq": "DO", "sxm": "SX", "fdf": "MQ", "bgi": "BB", "pos": "TT"}
REGIONS = tuple(HOME_COUNTRIES)


def _named(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


@pytest.fixture(scope="module")
def shards(postgres_admin_url, tmp_path_factory):
    """Seven migrated PostgreSQL databases: the settings that name them, and their names."""
    with databases.postgres_databases(postgres_admin_url) as urls:
        databases.migrate({**urls, "CPU_INSTANCE_PATH": str(tmp_path_factory.mktemp("migrate"))})
        yield urls


def _urls_of(region: str, urls: dict[str, str], process: str) -> dict[str, str]:
    """A region process's two database URLs, its name on each connection."""
    return {key: _named(urls[key], process) for key in (f"CPU_DATABASE_URL_{region.upper()}",
                                                        f"CPU_DATABASE_URL_{DIRECTORY.upper()}")}


@pytest.fixture(scope="module")
def topology(shards, postgres_admin_url, tmp_path_factory):
    """Six region servers and six edges, watched; yields (edge port per region, the watch)."""
    folder = tmp_path_factory.mktemp("topology")
    ports = {region: free_port() for region in REGIONS}
    region_databases = {region: _database_name(shards, region) for region in REGIONS}
    with ExitStack() as stack, ConnectionWatch(postgres_admin_url, list(region_databases.values())) as watch:
        servers = [region_server(region, port=ports[region], urls=_urls_of(region, shards, f"cpu-{region}"),
                                 instance=folder / region, log=folder / f"{region}.log") for region in REGIONS]
        for server in servers:
            stack.callback(server.stop)
        config_app = create_app({"CPU_INSTANCE_PATH": str(folder / "render"), "CPU_SCHEMA_CHECK": "false",
                                 "CPU_RELAY_IN_PROCESS": "false"})
        edges = {}
        with config_app.app_context():
            for region in REGIONS:
                edges[region] = free_port()
                conf = render(entry=region, listen=f"127.0.0.1:{edges[region]}", workers="1",
                              upstreams={code: f"127.0.0.1:{port}" for code, port in ports.items()})
                nginx = edge(conf, prefix=folder / f"edge-{region}", log=folder / f"edge-{region}.log")
                stack.callback(nginx.stop)
                nginx.wait_for(edges[region], None)
        for server, region in zip(servers, REGIONS):
            server.wait_for(ports[region], "/readyz")
        yield edges, watch, region_databases


def _database_name(urls: dict[str, str], region: str) -> str:
    return urls[f"CPU_DATABASE_URL_{region.upper()}"].rsplit("/", 1)[1]


def _api_key(shards, region: str, email: str, tmp_path) -> str:
    """A key made through the service, by a process of the merchant's own region."""
    settings = config.load({**_urls_of(region, shards, f"cpu-test-{region}"), "CPU_REGION": region,
                            "CPU_INSTANCE_PATH": str(tmp_path / f"keys-{region}")}, environ={})
    router = Router(settings, regionmap.load(settings.regions_file))
    try:
        owner = accounts.sign_in(router=router, email=email, password=PASSWORD)
        return api_keys.create(router=router, principal=owner, name="topology")[1]
    finally:
        router.dispose()


def test_every_merchant_is_answered_through_any_edge_and_no_process_opens_another_regions_shard(
        topology, shards, tmp_path):
    edges, watch, region_databases = topology
    merchants = {}
    for number, region in enumerate(REGIONS):
        entry = REGIONS[(number + 1) % len(REGIONS)]  # every sign-up enters in the wrong data center
        body = registration(f"Topology {region.upper()} Traders", HOME_COUNTRIES[region])
        status, _headers, answer = request(edges[entry], "POST", "/api/v1/merchants", body=json.dumps(body).encode(),
                                           headers={"Content-Type": "application/json"})
        assert status == 201, answer
        merchant = json.loads(answer)
        assert merchant["region"] == region
        merchants[region] = {**merchant, "key": _api_key(shards, region, body["email"], tmp_path)}

    for entry, port in edges.items():
        for region, merchant in merchants.items():
            status, _headers, page = request(port, "GET", f"/s/{merchant['handle']}", headers={"Accept": "text/html"})
            assert (status, entry) == (200, entry) and merchant["name"].encode() in page, (entry, region)
            status, _headers, answer = request(port, "GET", f"/api/v1/merchants/{merchant['id']}")
            assert (status, json.loads(answer)["region"]) == (200, region), (entry, answer)
            status, _headers, answer = request(port, "GET", "/api/v1/merchant/settings",
                                               headers={"Authorization": f"Bearer {merchant['key']}"})
            assert (status, json.loads(answer)["id"]) == (200, merchant["id"]), (entry, answer)

    connected = {(database, name) for database, name in watch.seen}
    for region, database in region_databases.items():
        assert (database, f"cpu-{region}") in connected, f"{region}'s own process never reached its shard"
        strangers = {name for seen, name in connected if seen == database and not name.endswith(f"-{region}")}
        assert not strangers, f"{region}'s shard was opened by {strangers}"
