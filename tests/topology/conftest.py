"""The topology of issue 10 on this machine, built once for the package: six data centers, each
with its app server (gunicorn, CPU_REGION set), outbox relay (`cpu relay`), consumer process
(`cpu events consume`), nginx edge and nats-server (JetStream, domain = region, leafnode-linked
to Kingston's); every shard its own PostgreSQL database. The drilled region's shard and the
directory each live on a private PostgreSQL server of their own, so that a drill can really stop,
freeze or cut one (tests/support/pgcluster.py); the other five shards share the machine's server.

Not marked `storage`: it builds its own PostgreSQL databases and runs once."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from marketplace.app import create_app
from marketplace.edge_cli import render
from marketplace.regions.router import DIRECTORY
from tests.support import databases
from tests.support.nats import NatsServer
from tests.support.pgcluster import PrivateCluster, private_cluster
from tests.support.processes import Process, free_port
from tests.topology.processes import ConnectionWatch, edge, region_command, region_environment, region_server

HOME_COUNTRIES = {"kin": "JM", "sdq": "DO", "sxm": "SX", "fdf": "MQ", "bgi": "BB", "pos": "TT"}
REGIONS = tuple(HOME_COUNTRIES)
HUB = "kin"  # whose nats-server the others' leafnodes dial
DRILLED = "bgi"  # the region on its own PostgreSQL server: Barbados, in the hurricane belt


SUMMARY = pytest.StashKey[list[str]]()  # lines the drill asks to be printed at the end of the run


def pytest_terminal_summary(terminalreporter, config) -> None:
    """The drill's figures, printed whether it passed or not (and with output captured)."""
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("hurricane drill")
        for line in lines:
            terminalreporter.write_line(line)


def report(config: pytest.Config, *lines: str) -> None:
    config.stash.setdefault(SUMMARY, []).extend(lines)


def named(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def urls_of(region: str, urls: dict[str, str], process: str) -> dict[str, str]:
    """A region process's two database URLs, its name on each connection."""
    return {key: named(urls[key], process) for key in (f"CPU_DATABASE_URL_{region.upper()}",
                                                       f"CPU_DATABASE_URL_{DIRECTORY.upper()}")}


def shard_key(region: str) -> str:
    return f"CPU_DATABASE_URL_{region.upper()}"


@dataclass
class Topology:
    edges: dict[str, int]  # region -> port of the edge in its data center
    ports: dict[str, int]  # region -> port of its app server
    processes: dict[str, dict[str, Process]]  # region -> {"server", "relay", "consumers"}
    brokers: dict[str, NatsServer]
    clusters: dict[str, PrivateCluster]  # DRILLED and DIRECTORY -> its private PostgreSQL server
    watch: ConnectionWatch
    region_databases: dict[str, str]  # region -> name of its shard
    urls: dict[str, str]  # every CPU_DATABASE_URL_*
    start: dict = field(default_factory=dict)  # (region, role) -> starts that process again

    @property
    def servers(self) -> dict[str, Process]:
        return {region: roles["server"] for region, roles in self.processes.items()}

    def restart_server(self, region: str) -> Process:
        self.processes[region]["server"] = server = self.start[region, "server"]()
        server.wait_for(self.ports[region], "/readyz")
        return server


@pytest.fixture(scope="package")
def shards(postgres_admin_url, tmp_path_factory):
    """Seven migrated PostgreSQL databases (the drilled region's and the directory on private
    servers), and the settings that name them."""
    with ExitStack() as stack:
        urls = stack.enter_context(databases.postgres_databases(postgres_admin_url))
        clusters = {name: stack.enter_context(private_cluster(name)) for name in (DRILLED, DIRECTORY)}
        for name, cluster in clusters.items():
            urls[shard_key(name)] = cluster.create_database(f"cpu_topology_{name}")
        databases.migrate({**urls, "CPU_INSTANCE_PATH": str(tmp_path_factory.mktemp("migrate"))})
        servers = _watched_servers(postgres_admin_url, urls, clusters)
        for admin_url, names in servers.items():
            _until_closed(admin_url, names)
        yield urls, clusters, servers


def _watched_servers(admin_url: str, urls: dict[str, str], clusters: dict[str, PrivateCluster]) -> dict[str, list[str]]:
    """Admin URL -> the shard databases on that server."""
    shared = [database_name(urls[shard_key(region)]) for region in REGIONS if region not in clusters]
    return {admin_url: shared, clusters[DRILLED].admin_url: [database_name(urls[shard_key(DRILLED)])]}


def _until_closed(admin_url: str, names: list[str], timeout: float = 10) -> None:
    """Until the migration's connections, closed on our side, have left the server too: the
    watch must see only the region processes."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_url, autocommit=True) as admin:
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(%s)", (names,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the migration's connections did not close"
            time.sleep(0.05)


def _brokers(root: Path) -> dict[str, NatsServer]:
    hub = NatsServer(root, HUB).start()
    return {HUB: hub, **{region: NatsServer(root, region, hub=hub).start() for region in REGIONS if region != HUB}}


@pytest.fixture(scope="package")
def topology(shards, tmp_path_factory):
    """The six data centers, their shards' connections watched."""
    urls, clusters, watched = shards
    folder = tmp_path_factory.mktemp("topology")
    ports = {region: free_port() for region in REGIONS}
    region_databases = {region: database_name(urls[shard_key(region)]) for region in REGIONS}
    with ExitStack() as stack, ConnectionWatch(watched) as watch:
        brokers = _brokers(folder / "nats")
        for broker in reversed(brokers.values()):
            stack.callback(broker.stop)
        starts, processes = {}, {region: {} for region in REGIONS}
        for region in REGIONS:
            for role, make in _roles(region, ports[region], urls, brokers[region].url, folder).items():
                def start(make=make):
                    process = make()
                    stack.callback(process.stop)
                    return process
                starts[region, role] = start
                processes[region][role] = start()
        edges = _edges(stack, folder, ports)
        for region, roles in processes.items():
            roles["server"].wait_for(ports[region], "/readyz")
        yield Topology(edges, ports, processes, brokers, clusters, watch, region_databases, urls, starts)


def _roles(region: str, port: int, urls: dict[str, str], broker_url: str, folder: Path) -> dict:
    """How to start each process of one data center; all three share its instance folder (the
    consumer process is the one that writes the region's search index)."""
    def env(process: str) -> dict[str, str]:
        return region_environment(region, urls=urls_of(region, urls, process), broker_url=broker_url,
                                  instance=folder / region)

    return {
        "server": lambda: region_server(env(f"cpu-{region}"), port=port, log=folder / f"{region}.log"),
        "relay": lambda: region_command(env(f"cpu-relay-{region}"), "relay", log=folder / f"{region}-relay.log"),
        "consumers": lambda: region_command(env(f"cpu-consumers-{region}"), "events", "consume",
                                            log=folder / f"{region}-consumers.log"),
    }


def _edges(stack: ExitStack, folder: Path, ports: dict[str, int]) -> dict[str, int]:
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
    return edges
