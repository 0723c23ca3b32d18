"""POST /webhooks/stripe: Stripe's signed events (CSRF-exempt: Stripe signs, it holds no cookie)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from marketplace.errors import DomainError, NotFound
from marketplace.platform import platform
from payments.stripe import webhooks

blp = Blueprint("stripe_webhooks", __name__)


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
        event = webhooks.verify(request.get_data(cache=False), request.headers.get("Stripe-Signature"), secret)
    except webhooks.BadSignature as exc:
        raise BadSignature(f"The Stripe-Signature header does not verify this body: {exc}") from None
    router = current.router
    fresh = webhooks.receive(router, router.region or router.served_regions[0], event)
    return jsonify(received=True, duplicate=not fresh)
