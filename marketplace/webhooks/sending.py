"""Sending due webhook deliveries: a chore of the relay's pass over each region (Relay's
`chores`), on the database clock, outside any request.

A delivery is claimed with a short lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so relays
side by side take different rows), posted with no transaction open, and its attempt recorded
in its own transaction: a 2xx delivers it; anything else schedules the next attempt with
exponential backoff and jitter, until 24 hours after the event, when the last failure gives
it up. A relay that dies mid-send leaves the lease to run out and the delivery is sent again:
receivers de-duplicate on the body's `id` (the event id), which every attempt repeats.

urllib, not requests: `requests` is pinned only for the tests, and one POST with a timeout
and no redirects needs nothing more. Redirects are refused (a 3xx counts as a failure), or a
public URL could bounce the request to an address urls.py refuses."""

from __future__ import annotations

import logging
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from marketplace.webhooks import sealing, signing, urls
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)  # from the event: retried until then, then given up
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
LEASE = timedelta(minutes=2)  # well beyond a batch of timeouts
BATCH = 20


def backoff(attempts: int, *, rand=random.random) -> timedelta:
    """30 s doubling per attempt up to 2 h, each drawn between half and all of it (jitter, so a
    receiver that was down is not met by every delivery at once when it returns)."""
    full = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
    return full * (0.5 + rand() / 2)


@dataclass(frozen=True)
class Claimed:
    id: str
    endpoint_id: str
    event_id: str
    topic: str
    body: str
    url: str
    sealed_secret: str
    endpoint_deleted: bool
    created_at: datetime
    attempts: int
    now: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # urllib then raises HTTPError with the 3xx


_opener = urllib.request.build_opener(_NoRedirects)


class Sender:
    """The chore: `Sender(router, settings)(region)` sends the region's due deliveries."""

    def __init__(self, router, settings):
        self.router, self.settings = router, settings
        self.__name__ = "webhooks.send"

    def __call__(self, region: str) -> int:
        claimed = self._claim(region)
        for delivery in claimed:
            self._record(region, delivery, self._send(delivery))
        return len(claimed)

    def _claim(self, region: str) -> list[Claimed]:
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            rows = uow.session.execute(
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                       or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now))
                .order_by(WebhookDelivery.next_attempt_at).limit(BATCH)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ).all()
            claimed = []
            for delivery, endpoint in rows:
                delivery.claimed_until, delivery.attempts = now + LEASE, delivery.attempts + 1
                claimed.append(Claimed(delivery.id, endpoint.id, delivery.event_id, delivery.topic, delivery.body,
                                       endpoint.url, endpoint.sealed_secret, endpoint.deleted_at is not None,
                                       delivery.created_at, delivery.attempts, now))
            uow.commit()
        return claimed

    def _send(self, delivery: Claimed) -> Outcome:
        if delivery.endpoint_deleted:
            return Outcome(None, 0, "the webhook was deleted")
        why = urls.refusal(delivery.url, allow_loopback=self.settings.env == "embedded")
        if why:
            return Outcome(None, 0, f"not sent: the URL {why}")
        try:
            secret = sealing.unseal(self.settings.webhook_sealing_key, delivery.endpoint_id, delivery.sealed_secret)
        except Exception:  # InvalidTag: the key changed; retried until mended or the 24 hours are up
            return Outcome(None, 0, "not sent: the signing secret does not unseal (was CPU_WEBHOOK_SEALING_KEY changed?)")
        body = delivery.body.encode()
        request = urllib.request.Request(delivery.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "CPU-Marketplace-Webhooks/1",
            signing.HEADER: signing.header(secret, int(delivery.now.timestamp()), body),
            "CPU-Event-Id": delivery.event_id, "CPU-Event-Type": delivery.topic, "CPU-Delivery-Id": delivery.id,
        })
        started = time.monotonic()
        try:
            with _opener.open(request, timeout=self.settings.webhook_timeout) as response:
                response.read(65536)
                status, error = response.status, None
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timed out, TLS, bad URL
            reason = getattr(exc, "reason", exc)
            status, error = None, f"{type(reason).__name__}: {str(reason)[:200]}"
        return Outcome(status, int((time.monotonic() - started) * 1000), error)

    def _record(self, region: str, claimed: Claimed, outcome: Outcome) -> None:
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            delivery = uow.session.get(WebhookDelivery, claimed.id)
            uow.session.add(WebhookAttempt(id=new_id("wha"), delivery_id=claimed.id, attempted_at=claimed.now,
                                           status_code=outcome.status_code, latency_ms=outcome.latency_ms,
                                           error=outcome.error and outcome.error[:500]))
            deadline = claimed.created_at + WINDOW
            delivery.claimed_until = None
            if outcome.ok:
                delivery.state, delivery.finished_at, delivery.next_attempt_at = "delivered", now, None
            elif claimed.endpoint_deleted or now >= deadline:
                delivery.state, delivery.finished_at, delivery.next_attempt_at = "given_up", now, None
            else:
                delivery.next_attempt_at = min(now + backoff(claimed.attempts), deadline)
            state = delivery.state
            uow.commit()
        if not outcome.ok:
            log.warning("webhook delivery %s (%s) attempt %d failed: %s; %s", claimed.id, claimed.topic, claimed.attempts,
                        outcome.error, state if state != "pending" else "will be retried",
                        extra={"region": region, "event_id": claimed.event_id})
