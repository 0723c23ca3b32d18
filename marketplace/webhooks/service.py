"""Registering webhook endpoints and reading their delivery log (owners only, one merchant's
rows only: another merchant's ids are simply not found).

The signing secret is returned once, at creation, and then lives only sealed on the row
(sealing.py). Creating takes no Idempotency-Key, like an API key: a replayed answer would have
to keep the secret to show it again; a merchant that lost the answer deletes the endpoint and
makes another."""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import func, select

from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from marketplace.regions.router import Router
from marketplace.webhooks import sealing, urls
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS = 10  # per merchant: each one multiplies every order event's deliveries
LOG_LIMIT = 100  # deliveries shown per endpoint, newest first


@cache
def topics() -> dict[str, str]:
    """The events a webhook may receive, and when each is sent (topics.toml)."""
    return tomllib.loads(Path(__file__).with_name("topics.toml").read_text())


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]

    def __getattr__(self, name):  # the schema reads the delivery's columns through this
        return getattr(self.delivery, name)


def allows_loopback(router: Router) -> bool:
    """Only the embedded default (and the tests) may send webhooks to this machine."""
    return router.settings.env == "embedded"


def create(*, router: Router, principal: Principal, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for these events; the returned secret is the only time it is seen."""
    principal.require_owner("register webhooks")
    unknown = sorted(set(events) - set(topics()))
    if unknown or not events:
        raise InvalidInput("Choose events from the list.", errors={"events": [f"unknown event {unknown[0]!r}" if unknown
                                                                            else "choose at least one event"]})
    why = urls.refusal(url, allow_loopback=allows_loopback(router))
    if why:
        raise InvalidInput(f"The URL {why}.", errors={"url": [f"The URL {why}."]})
    endpoint_id, secret = new_id("whk"), f"whsec_{secrets.token_urlsafe(32)}"
    with router.unit_of_work(principal.region) as uow:
        count = uow.session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == principal.merchant_id, WebhookEndpoint.deleted_at.is_(None)))
        if count >= MAX_ENDPOINTS:
            raise Conflict(f"A merchant has at most {MAX_ENDPOINTS} webhooks; delete one first.")
        endpoint = WebhookEndpoint(id=endpoint_id, region=principal.region, merchant_id=principal.merchant_id, url=url,
                                   events=sorted(set(events)),
                                   sealed_secret=sealing.seal(router.settings.webhook_sealing_key, endpoint_id, secret),
                                   created_at=database_now(uow.session))
        uow.session.add(endpoint)
        uow.commit()
    return endpoint, secret


def list_(*, router: Router, principal: Principal) -> list[WebhookEndpoint]:
    """The merchant's endpoints in force, oldest first."""
    principal.require_owner("see the webhooks")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == principal.merchant_id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)))


def delete(*, router: Router, principal: Principal, webhook_id: str) -> None:
    """Stop sending to the endpoint: deliveries still pending are given up at their next turn."""
    principal.require_owner("delete webhooks")
    with router.unit_of_work(principal.region) as uow:
        endpoint = _owned(uow.session, principal, webhook_id)
        endpoint.deleted_at = database_now(uow.session)
        uow.commit()


def deliveries(*, router: Router, principal: Principal, webhook_id: str) -> list[LoggedDelivery]:
    """The endpoint's latest deliveries, newest first, each with its attempts."""
    principal.require_owner("see webhook deliveries")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        _owned(uow.session, principal, webhook_id, deleted_too=True)
        return _log(uow.session, [webhook_id])


def recent_log(*, router: Router, principal: Principal) -> list[tuple[WebhookEndpoint, list[LoggedDelivery]]]:
    """Every endpoint in force with its latest deliveries: the dashboard's page."""
    endpoints = list_(router=router, principal=principal)
    with router.unit_of_work(principal.region, read_only=True) as uow:
        logged = _log(uow.session, [e.id for e in endpoints])
    return [(e, [d for d in logged if d.endpoint_id == e.id]) for e in endpoints]


def _owned(session, principal: Principal, webhook_id: str, *, deleted_too: bool = False) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.merchant_id != principal.merchant_id or (endpoint.deleted_at and not deleted_too):
        raise NotFound(f"No webhook {webhook_id}.")
    return endpoint


def _log(session, endpoint_ids: list[str]) -> list[LoggedDelivery]:
    if not endpoint_ids:
        return []
    rows = list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
                                .order_by(WebhookDelivery.id.desc()).limit(LOG_LIMIT * len(endpoint_ids))))
    attempts: dict[str, list[WebhookAttempt]] = {row.id: [] for row in rows}
    for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(attempts)))
                                   .order_by(WebhookAttempt.id)):
        attempts[attempt.delivery_id].append(attempt)
    return [LoggedDelivery(row, attempts[row.id]) for row in rows]
