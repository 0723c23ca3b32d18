"""What the topology tests do as merchants (register, rename, take an API key) and what they
read back from a region's shard (its outbox, the drill consumer's inbox). Reads go straight to
the shard, named `cpu-test-<region>` so the connection watch counts them as that region's."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from marketplace import config
from marketplace.merchants import accounts, api_keys
from marketplace.regions import regionmap
from marketplace.regions.router import Router
from tests.support.merchants import PASSWORD, registration
from tests.support.processes import request
from tests.topology.conftest import HOME_COUNTRIES, shard_key, urls_of
from tests.topology.drill_cpu import MIRROR


def register(edge_port: int, region: str, name: str, *, urls: dict[str, str], folder: Path) -> dict:
    """A merchant of `region` opened through an edge, with an owner's API key made in its region."""
    body = registration(name, HOME_COUNTRIES[region])
    status, _headers, answer = request(edge_port, "POST", "/api/v1/merchants", body=json.dumps(body).encode(),
                                       headers={"Content-Type": "application/json"})
    assert status == 201, answer
    merchant = json.loads(answer)
    assert merchant["region"] == region
    return {**merchant, "key": api_key(urls, region, body["email"], folder)}


def api_key(urls: dict[str, str], region: str, email: str, folder: Path) -> str:
    """A key made through the service, by a process of the merchant's own region."""
    settings = config.load({**urls_of(region, urls, f"cpu-test-{region}"), "CPU_REGION": region,
                            "CPU_INSTANCE_PATH": str(folder / f"keys-{region}")}, environ={})
    router = Router(settings, regionmap.load(settings.regions_file))
    try:
        owner = accounts.sign_in(router=router, email=email, password=PASSWORD)
        return api_keys.create(router=router, principal=owner, name="topology")[1]
    finally:
        router.dispose()


def rename(edge_port: int, merchant: dict, name: str) -> tuple[int, bytes]:
    """The owner renames the shop: its region publishes `merchant.renamed` (key: the merchant)."""
    status, _headers, answer = request(edge_port, "PATCH", "/api/v1/merchant/settings",
                                       body=json.dumps({"name": name}).encode(),
                                       headers={"Content-Type": "application/json",
                                                "Authorization": f"Bearer {merchant['key']}"})
    return status, answer


def _rows(urls: dict[str, str], region: str, sql: str, params: tuple) -> list[tuple]:
    url = urls[shard_key(region)].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, application_name=f"cpu-test-{region}", connect_timeout=2) as shard:
        return shard.execute(sql, params).fetchall()


def renamed_events(urls: dict[str, str], merchant: dict) -> list[str]:
    """The ids of the merchant's `merchant.renamed` events, in the order its region published them."""
    return [row[0] for row in _rows(urls, merchant["region"], "SELECT id FROM outbox_events WHERE topic = %s AND "
                                    "partition_key = %s ORDER BY created_at, id", (accounts.MERCHANT_RENAMED,
                                                                                   merchant["id"]))]


def mirrored(urls: dict[str, str], region: str, event_ids: list[str]) -> list[str]:
    """Which of these events the drill's consumer applied in `region`, in the order it applied them."""
    return [row[0] for row in _rows(urls, region, "SELECT event_id FROM inbox WHERE consumer = %s AND "
                                    "event_id = ANY(%s) ORDER BY applied_at, event_id", (MIRROR, event_ids))]
