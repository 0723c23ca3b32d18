"""The topology of issue 10 on this machine: six region processes (CPU_REGION set), each with
its own PostgreSQL database, and an nginx edge per data center in front of all six. A client
that knows one edge's address reaches every merchant, whichever data center it entered, and
no process ever connects to another region's shard.

Not marked `storage`: it builds its own PostgreSQL databases and runs once."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import psycopg
import pytest
import requests

from marketplace import config
from marketplace.app import create_app
from marketplace.edge_cli import render
from marketplace.merchants import accounts, api_keys
from marketplace.regions import regionmap
from marketplace.regions.router import DIRECTORY, Router
from tests.support import databases
from tests.support.buyers import PASSWORD as BUYER_PASSWORD
from tests.support.buyers import sign_up_body
from tests.support.merchants import PASSWORD, registration
from tests.support.processes import Process, free_port, request
from tests.topology.processes import ConnectionWatch, edge, region_server

HOME_COUNTRIES = {"kin": "JM", "sdq": "DO", "sxm": "SX", "fdf": "MQ", "bgi": "BB", "pos": "TT"}
REGIONS = tuple(HOME_COUNTRIES)


def _named(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


@pytest.fixture(scope="module")
def shards(postgres_admin_url, tmp_path_factory):
    """Seven migrated PostgreSQL databases, and the settings that name them."""
    with databases.postgres_databases(postgres_admin_url) as urls:
        databases.migrate({**urls, "CPU_INSTANCE_PATH": str(tmp_path_factory.mktemp("migrate"))})
        _until_closed(postgres_admin_url, [url.rsplit("/", 1)[1] for url in urls.values()])
        yield urls


def _until_closed(admin_url: str, names: list[str], timeout: float = 10) -> None:
    """Until the migration's connections, closed on our side, have left the server too: the
    watch must see only the region processes."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_url, autocommit=True) as admin:
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(%s)", (names,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the migration's connections did not close"
            time.sleep(0.05)


def _urls_of(region: str, urls: dict[str, str], process: str) -> dict[str, str]:
    """A region process's two database URLs, its name on each connection."""
    return {key: _named(urls[key], process) for key in (f"CPU_DATABASE_URL_{region.upper()}",
                                                        f"CPU_DATABASE_URL_{DIRECTORY.upper()}")}


@dataclass
class Topology:
    edges: dict[str, int]  # region -> port of the edge in its data center
    servers: dict[str, Process]  # region -> its app server
    watch: ConnectionWatch
    region_databases: dict[str, str]  # region -> name of its shard
    start_server: Callable[[str], Process]


@pytest.fixture(scope="module")
def topology(shards, postgres_admin_url, tmp_path_factory):
    """Six region servers and six edges, their connections watched."""
    folder = tmp_path_factory.mktemp("topology")
    ports = {region: free_port() for region in REGIONS}
    region_databases = {region: _database_name(shards, region) for region in REGIONS}
    with ExitStack() as stack, ConnectionWatch(postgres_admin_url, list(region_databases.values())) as watch:
        def start_server(region: str) -> Process:
            server = region_server(region, port=ports[region], urls=_urls_of(region, shards, f"cpu-{region}"),
                                   instance=folder / region, log=folder / f"{region}.log")
            stack.callback(server.stop)
            return server

        servers = {region: start_server(region) for region in REGIONS}
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
        for region, server in servers.items():
            server.wait_for(ports[region], "/readyz")
        yield Topology(edges, servers, watch, region_databases, lambda region: _started(start_server(region),
                                                                                        ports[region]))


def _started(server: Process, port: int) -> Process:
    server.wait_for(port, "/readyz")
    return server


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


def assert_each_shard_reached_only_from_its_region(watch: ConnectionWatch, region_databases: dict[str, str]) -> None:
    """Each region's shard was connected to by its own server, and by no process of another region."""
    for region, database in region_databases.items():
        assert (database, f"cpu-{region}") in watch.seen, f"{region}'s own process never reached its shard"
        strangers = {name for seen, name in watch.seen if seen == database and not name.endswith(f"-{region}")}
        assert not strangers, f"{region}'s shard was opened by {strangers}"


def test_every_merchant_is_answered_through_any_edge_and_no_process_opens_another_regions_shard(
        topology, shards, tmp_path):
    edges, watch, region_databases = topology.edges, topology.watch, topology.region_databases
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

    assert_each_shard_reached_only_from_its_region(watch, region_databases)


def test_a_martinique_owner_signs_in_to_the_dashboard_through_the_kingston_edge(topology):
    edges, watch, region_databases = topology.edges, topology.watch, topology.region_databases
    kingston = f"http://127.0.0.1:{edges['kin']}"
    body = registration("Topology Sign In Rhum", "MQ")
    assert requests.post(f"{kingston}/api/v1/merchants", json=body, timeout=10).status_code == 201
    browser = requests.Session()
    form = browser.get(f"{kingston}/dashboard/signin", timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    signed_in = browser.post(f"{kingston}/dashboard/signin", timeout=10, allow_redirects=False,
                             data={"csrf_token": token, "email": body["email"], "password": PASSWORD})
    assert signed_in.status_code == 303, signed_in.text  # answered by fdf, after kin's 421
    settings = browser.get(f"{kingston}/dashboard/settings", timeout=10)  # routed by the cookie's region
    assert settings.status_code == 200 and body["legal_name"] in settings.text
    assert_each_shard_reached_only_from_its_region(watch, region_databases)


def test_a_martinique_buyer_uses_the_mobile_api_through_the_kingston_edge(topology):
    edges, watch, region_databases = topology.edges, topology.watch, topology.region_databases
    kingston = f"http://127.0.0.1:{edges['kin']}"
    body = sign_up_body("Topology Marie", "MQ", company="Topology Hotels")
    signed_up = requests.post(f"{kingston}/api/v1/buyers", json=body, timeout=10)  # fdf answers, after kin's 421
    assert signed_up.status_code == 201 and signed_up.json()["region"] == "fdf", signed_up.text
    pair = requests.post(f"{kingston}/api/v1/buyer/tokens", json={"email": body["email"], "password": BUYER_PASSWORD},
                         timeout=10).json()
    assert pair["access_token"].startswith("cpb.fdf.")
    fresh = requests.post(f"{kingston}/api/v1/buyer/tokens/refresh", json={"refresh_token": pair["refresh_token"]},
                          timeout=10)
    assert fresh.status_code == 200, fresh.text
    auth = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    profile = requests.get(f"{kingston}/api/v1/buyer/profile", headers=auth, timeout=10)  # routed by the token
    assert profile.status_code == 200 and profile.json()["company_role"] == "admin"
    assert requests.get(f"{kingston}/api/v1/search?q=rum", headers=auth, timeout=10).status_code == 200
    assert requests.delete(f"{kingston}/api/v1/buyer/sessions", headers=auth, timeout=10).status_code == 204
    assert requests.get(f"{kingston}/api/v1/buyer/profile", headers=auth, timeout=10).status_code == 401
    assert_each_shard_reached_only_from_its_region(watch, region_databases)


def test_the_edge_lookup_is_not_open_to_clients(topology):
    edges = topology.edges
    assert request(edges["kin"], "GET", "/edge/route")[0] == 404


def test_a_region_whose_servers_are_down_is_a_quick_503_naming_it_and_the_others_answer(topology):
    edges, servers = topology.edges, topology.servers
    body = registration("Topology Down Doubles", "TT")
    status, _headers, answer = request(edges["kin"], "POST", "/api/v1/merchants", body=json.dumps(body).encode(),
                                       headers={"Content-Type": "application/json"})
    assert status == 201, answer
    merchant = json.loads(answer)
    servers["pos"].stop()
    try:
        started = time.monotonic()
        status, headers, answer = request(edges["kin"], "GET", f"/api/v1/merchants/{merchant['id']}")
        assert time.monotonic() - started < 1
        assert (status, headers["content-type"], headers.get("retry-after")) == (503, "application/problem+json", "5")
        assert json.loads(answer)["region"] == "pos"
        status, _headers, _page = request(edges["kin"], "GET", "/", headers={"Accept": "text/html"})
        assert status == 200  # Kingston answers for itself
    finally:
        servers["pos"] = topology.start_server("pos")
