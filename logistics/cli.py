"""`cpu postal replay FILE`: a file of postal events sent through POST /webhooks/postal, each
batch signed with its operator's secret, as the live operators would. The embedded default's
stand-in for the operators, and the demo's way to move parcels (logistics/demo_events.json).

`cpu postal reconcile`: the parked events re-tried (logistics.reconciliation), region by
region, a line per committed page so a long run shows where it is."""

from __future__ import annotations

import json
from collections import Counter
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from logistics import reconciliation
from logistics.webhook import OPERATOR_HEADER
from marketplace.errors import RegionUnavailable
from marketplace.platform import platform
from marketplace.webhooks import signing

postal = AppGroup("postal", help="Postal operators' tracking events.")
DEMO_FILE = Path(__file__).with_name("demo_events.json")


@postal.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEMO_FILE)
@click.option("--url", default=None, help="A running server's base URL (http://host:port); default: this process.")
def replay(file: Path, url: str | None) -> None:
    """Send FILE's batches ([{"operator": "jm", "events": [...]}, ...]) through the webhook, signed."""
    batches = json.loads(file.read_text(encoding="utf-8"))
    secrets = platform().settings.postal_secrets
    for n, batch in enumerate(batches):
        body = json.dumps({"events": batch["events"]}).encode()
        headers = {"Content-Type": "application/json", OPERATOR_HEADER: batch["operator"],
                   signing.HEADER: signing.header(secrets[batch["operator"]], int(time.time()), body)}
        status, answer = _post(url, body, headers)
        counts = {}
        for result in answer.get("results", []):
            counts[result["status"]] = counts.get(result["status"], 0) + 1
        click.echo(f"batch {n} ({batch['operator']}, {len(batch['events'])} events): {status} "
                   + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or answer.get("detail", "")))


def _post(url: str | None, body: bytes, headers: dict) -> tuple[int, dict]:
    if url is None:
        response = current_app.test_client().post("/webhooks/postal", data=body, headers=headers)
        return response.status_code, response.get_json() or {}
    request = urllib.request.Request(url.rstrip("/") + "/webhooks/postal", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@postal.command("reconcile")
@click.option("--region", "regions", multiple=True, help="A region to reconcile (repeatable); default: every one served.")
def reconcile(regions: tuple[str, ...]) -> None:
    """Re-try parked events: receipts whose number a range now holds go to its region, and
    timeline events whose parcel is now recorded are applied to it."""
    router, unavailable = platform().router, []
    for region in regions or router.served_regions:
        try:
            _reconcile(router, region)
        except RegionUnavailable as exc:
            unavailable.append(region)
            click.echo(f"{region}: stopped, the region is unavailable ({exc}); pages done stand, run again when it is back")
    if unavailable:
        raise SystemExit(1)


def _reconcile(router, region: str) -> None:
    checked, sent = 0, Counter()
    for page in reconciliation.route_receipts(router=router, region=region):
        checked, sent = checked + page.checked, sent + page.sent
        click.echo(f"{region}: {checked} parked receipts checked, {sent.total()} sent on")
    parcels = events = 0
    for page in reconciliation.take_parked_events(router=router, region=region):
        parcels, events = parcels + page.parcels, events + page.events
        click.echo(f"{region}: {parcels} parcels had parked events, {events} taken")
    where = "".join(f", {n} to {r}" for r, n in sorted(sent.items()))
    click.echo(f"{region}: {sent.total()} of {checked} parked receipts sent to the region holding their "
               f"number{where}; {events} parked events applied to {parcels} parcels")
