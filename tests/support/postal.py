"""Signed postal webhook requests, as a member operator sends them."""

from __future__ import annotations

import json
import time

from marketplace.webhooks import signing


def secret_of(platform, operator: str) -> str:
    return platform.settings.postal_secrets[operator]


def post_events(client, platform, events: list[dict], *, operator: str = "jm", secret: str | None = None,
                at: int | None = None):
    body = json.dumps({"events": events}).encode()
    stamp = int(time.time()) if at is None else at
    return client.post("/webhooks/postal", data=body, content_type="application/json", headers={
        "CPU-Postal-Operator": operator,
        "CPU-Signature": signing.header(secret or secret_of(platform, operator), stamp, body)})


def event(number: str, code: str, at: str, *, event_id: str | None = None, office: str = "JMKINA", detail=None) -> dict:
    return {"event_id": event_id or f"{number}-{code}-{at}", "tracking_number": number, "code": code,
            "occurred_at": at, "office": office, "detail": detail}
