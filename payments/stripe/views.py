"""POST /webhooks/stripe: Stripe's signed events (CSRF-exempt: Stripe signs, it holds no cookie)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from marketplace.errors import DomainError, NotFound
from marketplace.platform import platform
from payments.stripe import webhooks
from payments.stripe.grouping import GroupCommit

blp = Blueprint("stripe_webhooks", __name__)
log = logging.getLogger(__name__)


class BadSignature(DomainError):
    status = 400
    title = "Bad signature"
    slug = "bad-signature"


@blp.post("/webhooks/stripe")
def stripe_webhook():
    """Verify, record once, hand on, answer: the event is applied in its own region later."""
    current = platform()
    secret = current.settings.stripe_webhook_secret
    if not secret:
        raise NotFound("This marketplace takes no Stripe payments (no webhook secret is configured).")
    try:
        event = webhooks.verify(request.get_data(cache=False), request.headers.get("Stripe-Signature"),
                                platform=secret, connect=current.settings.stripe_connect_webhook_secret)
    except webhooks.BadSignature as exc:
        raise BadSignature(f"The Stripe-Signature header does not verify this body: {exc}") from None
    if event is None:  # signed, but not this endpoint's to send: acknowledged, so that Stripe stops
        log.warning("Stripe event signed by an endpoint it does not belong to: ignored")
        return jsonify(received=True, ignored=True)
    fresh = _intake(current).submit(event)
    return jsonify(received=True, duplicate=not fresh)


def _intake(current) -> GroupCommit:
    """The app's group commit of received events, into its process's own region (the first of
    the map's in the embedded default, where one process serves them all)."""
    intake = current_app.extensions.get("cpu-stripe-intake")
    if intake is None:
        router = current.router
        region = router.region or router.served_regions[0]
        intake = current_app.extensions.setdefault("cpu-stripe-intake", GroupCommit(
            lambda events: webhooks.receive_many(router, region, events)))
    return intake
