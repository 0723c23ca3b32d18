"""POST /webhooks/postal: the member postal operators' tracking events.

The request names its operator (`CPU-Postal-Operator`) and is signed like our own outbound
webhooks (marketplace.webhooks.signing: `CPU-Signature: t=<unix seconds>,v1=<HMAC-SHA256 of
"<t>.<raw body>">` under that operator's secret), so a replay older than the window is
refused and one operator's secret signs nothing for another. The signature is checked over
the raw bytes before the body is parsed. No cookie or CSRF token is involved: the signature is
the authentication. Any region answers: see logistics.tracking for what happens next.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from logistics import tracking
from logistics.s10 import operators
from marketplace.errors import InvalidInput
from marketplace.merchants.auth import NotAuthenticated
from marketplace.platform import platform
from marketplace.webhooks import signing

OPERATOR_HEADER = "CPU-Postal-Operator"
blp = Blueprint("postal_webhooks", __name__)


@blp.post("/webhooks/postal")
def receive():
    """A batch of tracking events: 202 with each event's result (accepted, duplicate, parked or rejected)."""
    operator = _authenticated_operator()
    events = _events(request.get_data(cache=False))
    current = platform()
    region = current.settings.region or current.regions.home_region(operators()[operator]["country"]).code
    results = tracking.receive(router=current.router, region=region, operator=operator, events=events)
    return jsonify({"operator": operator, "region": region, "results": results}), 202


def _authenticated_operator() -> str:
    operator = request.headers.get(OPERATOR_HEADER, "").strip().lower()
    secret = platform().settings.postal_secrets.get(operator) if operator in operators() else None
    signature = request.headers.get(signing.HEADER, "")
    # The same refusal for an unknown operator, a bad signature and a stale one: nothing to probe.
    if not secret or not signing.verify(secret, signature, request.get_data(cache=True)):
        raise NotAuthenticated(f"Sign the raw body with your operator's secret: {signing.HEADER}: t=<unix time>,"
                               f"v1=<hex HMAC-SHA256 of '<t>.<body>'>, within {signing.TOLERANCE_SECONDS} s, "
                               f"and name your operator in {OPERATOR_HEADER}.")
    return operator


def _events(body: bytes) -> list:
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidInput("The body is not JSON.", errors={"": ["a JSON object with an `events` list"]}) from None
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= tracking.MAX_BATCH:
        raise InvalidInput(f"Send 1 to {tracking.MAX_BATCH} events in `events`.",
                           errors={"events": [f"a list of 1 to {tracking.MAX_BATCH} events"]})
    return events
