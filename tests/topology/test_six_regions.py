"""The topology of issue 10 on this machine (tests/topology/conftest.py): six data centers, each
with its region processes (CPU_REGION set), its own PostgreSQL database, its nats-server and an
nginx edge in front of all six. A client that knows one edge's address reaches every merchant,
whichever data center it entered; no process ever connects to another region's shard; events
cross from one data center to another through the linked brokers.

Not marked `storage`: it builds its own PostgreSQL databases and runs once."""

from __future__ import annotations

import json
import re
import time

import requests

from tests.support.buyers import PASSWORD as BUYER_PASSWORD
from tests.support.buyers import sign_up_body
from tests.support.merchants import PASSWORD, registration
from tests.support.processes import request
from tests.topology.conftest import REGIONS
from tests.topology.parties import mirrored, register, rename, renamed_events
from tests.topology.processes import ConnectionWatch


def assert_each_shard_reached_only_from_its_region(watch: ConnectionWatch, region_databases: dict[str, str]) -> None:
    """Each region's shard was connected to by its own server, and by no process of another region."""
    for region, database in region_databases.items():
        assert (database, f"cpu-{region}") in watch.seen, f"{region}'s own process never reached its shard"
        strangers = {name for seen, name in watch.seen if seen == database and not name.endswith(f"-{region}")}
        assert not strangers, f"{region}'s shard was opened by {strangers}"


def test_every_merchant_is_answered_through_any_edge_and_no_process_opens_another_regions_shard(
        topology, tmp_path):
    edges, watch, region_databases = topology.edges, topology.watch, topology.region_databases
    merchants = {}
    for number, region in enumerate(REGIONS):
        entry = REGIONS[(number + 1) % len(REGIONS)]  # every sign-up enters in the wrong data center
        merchants[region] = register(edges[entry], region, f"Topology {region.upper()} Traders", urls=topology.urls,
                                     folder=tmp_path)

    for entry, port in edges.items():
        for region, merchant in merchants.items():
            status, _headers, page = request(port, "GET", f"/s/{merchant['handle']}", headers={"Accept": "text/html"})
            assert (status, entry) == (200, entry) and merchant["name"].encode() in page, (entry, region)
            status, _headers, answer = request(port, "GET", f"/api/v1/merchants/{merchant['id']}")
            assert (status, json.loads(answer)["region"]) == (200, region), (entry, answer)
            status, _headers, answer = request(port, "GET", "/api/v1/merchant/settings",
                                               headers={"Authorization": f"Bearer {merchant['key']}"})
            assert (status, json.loads(answer)["id"]) == (200, merchant["id"]), (entry, answer)

    products = {region: _product_through(edges[REGIONS[(n + 2) % len(REGIONS)]], merchant["key"])
                for n, (region, merchant) in enumerate(merchants.items())}
    for region, product_id in products.items():  # a buyer's product read names the product alone
        for entry, port in edges.items():
            status, answer = _once_located(port, f"/api/v1/products/{product_id}?country=JM")
            assert (status, json.loads(answer)["merchant_id"]) == (200, merchants[region]["id"]), (entry, region, answer)

    assert_each_shard_reached_only_from_its_region(watch, region_databases)


def _product_through(port: int, key: str) -> str:
    body = {"ref": "topology", "category": "food/coffee", "title": {"en": "Topology coffee"}, "variants": [
        {"sku": "TOP-1", "base_price": 1000, "hs_code": "090121", "origin_country": "JM", "weight_g": 250,
         "length_mm": 80, "width_mm": 60, "height_mm": 180, "stock": {"main": 5}}]}
    status, _headers, answer = request(port, "POST", "/api/v1/merchant/products", body=json.dumps(body).encode(),
                                       headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    assert status == 201, answer
    return json.loads(answer)["id"]


def _once_located(port: int, path: str, timeout: float = 15) -> tuple[int, bytes]:
    """The answer once the product's directory pointer is written (by its region's relay
    process's catalog.locate consumer): until then the edge's own region answers 404."""
    deadline = time.monotonic() + timeout
    while True:
        status, _headers, answer = request(port, "GET", path)
        if status != 404 or time.monotonic() > deadline:
            return status, answer
        time.sleep(0.2)


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
        topology.restart_server("pos")


def test_an_event_published_in_kingston_is_applied_in_every_other_region_through_the_brokers(topology, tmp_path):
    """Kingston's relay publishes to Kingston's nats-server; each other region's inbound stream
    sources it over the leafnodes, and that region's consumer process applies it there."""
    merchant = register(topology.edges["sdq"], "kin", "Topology Broker Jerk", urls=topology.urls, folder=tmp_path)
    assert rename(topology.edges["sdq"], merchant, "Topology Broker Jerk Centre")[0] == 200
    (event,) = renamed_events(topology.urls, merchant)
    deadline = time.monotonic() + 30
    waiting = set(REGIONS)
    while waiting and time.monotonic() < deadline:
        waiting = {region for region in waiting if mirrored(topology.urls, region, [event]) != [event]}
        time.sleep(0.2)
    assert not waiting, f"event {event} from kin was not applied in {sorted(waiting)} within 30 s"
    assert_each_shard_reached_only_from_its_region(topology.watch, topology.region_databases)
