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


def delivered_by_post(client, platform, parcel: dict, *, at: str = "2026-12-04T15:30:00+00:00",
                      operator: str | None = None, event_id: str | None = None):
    """An operator reports the parcel delivered (EMI), signed as it would be. The operator
    defaults to the parcel's origin (its S10 number's country), an end of the parcel."""
    number = parcel["tracking_number"]
    answer = post_events(client, platform, [event(number, "EMI", at, event_id=event_id)],
                         operator=operator or number[-2:].lower())
    assert answer.status_code == 202 and answer.get_json()["results"][0]["status"] == "accepted", answer.get_json()
    return answer
