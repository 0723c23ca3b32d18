"""The consumer that turns an order event into one delivery row per endpoint that asked for
it. It runs where the event was published (the merchant's shard) and writes in the same
transaction as its inbox record, so a redelivered event fans out once; the sending is left to
the relay's chore (sending.py), never done here or in a request."""

from __future__ import annotations

import json

from sqlalchemy import select

from marketplace.events.envelope import Envelope
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.service import topics

CONSUMER = "webhooks.fanout"
INTERNAL_FIELDS = ("buyer_email_digest",)  # our lookup keys: nothing a merchant's system can use


def register_handlers(registry) -> None:
    for topic in topics():
        registry.consumer(CONSUMER, topic, transactional=True)(fan_out)


def body_for(envelope: Envelope) -> str:
    """What the endpoint receives, fixed once so that every attempt signs the same bytes."""
    data = {k: v for k, v in envelope.payload.items() if k not in INTERNAL_FIELDS}
    return json.dumps({"id": envelope.event_id, "type": envelope.topic, "created_at": envelope.occurred_at.isoformat(),
                       "data": data}, separators=(",", ":"), sort_keys=True)


def fan_out(envelope: Envelope, session) -> None:
    merchant_id = envelope.payload.get("merchant_id")
    if not merchant_id:
        return
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == merchant_id,
                                                              WebhookEndpoint.deleted_at.is_(None))).all()
    now, body = database_now(session), body_for(envelope)
    for endpoint in endpoints:
        if envelope.topic in endpoint.events:
            session.add(WebhookDelivery(id=new_id("whd"), region=endpoint.region, merchant_id=merchant_id,
                                        endpoint_id=endpoint.id, event_id=envelope.event_id, topic=envelope.topic,
                                        body=body, state="pending", attempts=0, created_at=now, next_attempt_at=now))
