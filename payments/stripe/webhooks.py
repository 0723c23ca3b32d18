"""Stripe's webhook: verified, recorded once, handed on, answered.

The request path does as little as it can (Stripe retries a slow endpoint, and the goal is a
thousand events a second): the signature is checked against the raw bytes with the library
before anything is read, the event id is recorded in this process's region with an outbox
event in the same transaction, and the answer is 200. A replayed event id finds its record and
is answered 200 with nothing done.

The outbox event is addressed to the region that owns the payment, named by the `region` in
the PaymentIntent's metadata (provider.create_payment puts it there), so that region applies
it once (its inbox) even if it was away when the event arrived. A dispute carries no metadata
of ours: the receiving region's consumer fetches its PaymentIntent to learn the region first.
A connected account's `account.updated` carries its merchant's id in the metadata we gave it
(provider._open_account): that consumer asks the directory for the merchant's region.

Applying is order-tolerant: an intent only moves forward (states.advance), a dispute is opened
once, an account's state is replaced only by newer news (accounts.record, by the event's
`created`); the saga hears `payments.intent_updated` when the outcome changes, the ledger
`payments.dispute_opened` when a dispute opens (to hold the merchants' payable).
"""

from __future__ import annotations

import json
import logging

import stripe
from sqlalchemy.dialects import postgresql, sqlite

from payments.stripe import accounts, states
from payments.stripe.models import StripeAccount, StripeDispute, StripeEvent
from marketplace.regions import outbox
from marketplace.regions.base import utcnow

TOLERANCE_SECONDS = 300
HANDED_ON, LOCATE = "payments.stripe_event", "payments.stripe_locate"
INTENT_UPDATED, DISPUTE_OPENED = "payments.intent_updated", "payments.dispute_opened"
CONSUMER = "payments.stripe"
INTENT_FIELDS = ("id", "object", "status", "amount", "currency", "metadata", "last_payment_error")
DISPUTE_FIELDS = ("id", "object", "amount", "currency", "reason", "status", "payment_intent", "charge")
log = logging.getLogger(__name__)


class BadSignature(ValueError):
    """The body is not one Stripe signed with this endpoint's secret within the tolerance."""


def verify(body: bytes, header: str | None, *, platform: str, connect: str | None = None) -> dict | None:
    """The event, once its Stripe-Signature is verified against these exact bytes; None for a
    verified event that the endpoint whose secret signed it has no business sending.

    Two endpoints' secrets sign what reaches us: the platform's, for the platform's own objects
    (its PaymentIntents, disputes), and the Connect endpoint's, for events on connected
    accounts, which carry the account's id in `account`. A connected account's owner can make
    objects of its own on its account (a Standard account can create PaymentIntents, with any
    metadata it likes), so an event signed by the Connect secret is taken only when it is
    about that account itself (`account.*` whose object is the account), and one signed by the
    platform's never names a connected account."""
    try:
        stripe.WebhookSignature.verify_header(body, header, platform, TOLERANCE_SECONDS)
        from_connect = False
    except stripe.SignatureVerificationError as exc:
        if not connect:
            raise BadSignature(str(exc)) from exc
        try:
            stripe.WebhookSignature.verify_header(body, header, connect, TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as again:
            raise BadSignature(str(again)) from again
        from_connect = True
    event = json.loads(body)
    account, obj = event.get("account"), ((event.get("data") or {}).get("object") or {})
    if from_connect:
        about_itself = str(event.get("type", "")).startswith("account.") and account and obj.get("id") == account
        return event if about_itself else None
    return None if account else event


def receive_many(router, region: str, events: list[dict]) -> list[bool]:
    """Record each event once in `region` and hand it on, all in one transaction (see
    grouping.py); one answer per event: False when it was recorded before."""
    with router.unit_of_work(region) as uow:
        session = uow.session
        new, answers = _record_new(session, region, events), []
        for event in events:
            fresh = event["id"] in new
            new.discard(event["id"])  # the same id twice in one batch: the second is a replay
            if fresh:
                _hand_on(session, region, event)
            answers.append(fresh)
        uow.commit()
    return answers


def _record_new(session, region: str, events: list[dict]) -> set[str]:
    """Insert the ids not recorded yet, in one statement; the ids it inserted. A concurrent
    delivery of the same id waits for this transaction and then inserts nothing."""
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(StripeEvent)
    now = utcnow()
    rows = {e["id"]: {"id": e["id"], "region": region, "type": e["type"][:80], "received_at": now} for e in events}
    return set(session.scalars(insert.values(list(rows.values())).on_conflict_do_nothing().returning(StripeEvent.id)))


def _hand_on(session, region: str, event: dict) -> None:
    obj = event.get("data", {}).get("object", {})
    summary = {"stripe_event_id": event["id"], "type": event["type"], "created": event.get("created", 0)}
    kind = obj.get("object")
    if kind == "payment_intent" and obj.get("metadata", {}).get("checkout_id"):
        metadata = obj["metadata"]
        outbox.publish(session, HANDED_ON, {**summary, "to_region": metadata.get("region") or region,
                                            "object": _pick(obj, INTENT_FIELDS)}, key=metadata["checkout_id"])
    elif kind == "dispute":
        outbox.publish(session, LOCATE, {**summary, "object": _pick(obj, DISPUTE_FIELDS)},
                       key=obj.get("payment_intent") or obj["id"])
    elif kind == "account" and (obj.get("metadata") or {}).get("merchant_id"):
        outbox.publish(session, LOCATE, {**summary, "object": _pick(obj, accounts.FIELDS)}, key=obj["id"])


def register_handlers(registry, router, provider) -> None:
    """`provider()` gives the StripeProvider (None without a key: then nothing arrives here)."""
    registry.consumer(CONSUMER, HANDED_ON, addressed=True, transactional=True)(apply)
    registry.consumer(CONSUMER, LOCATE)(lambda envelope: locate(router, provider(), envelope))
    registry.announce(INTENT_UPDATED, DISPUTE_OPENED)


def locate(router, provider, envelope) -> None:
    """A dispute's region, from its PaymentIntent's metadata (a read at Stripe), or a connected
    account's, its merchant's home region (the directory's); then handed on."""
    p = envelope.payload
    if p["object"]["object"] == "account":
        merchant_id = p["object"]["metadata"]["merchant_id"]
        region, key, named = router.region_of(merchant_id), merchant_id, {"merchant_id": merchant_id}
        if region is None:
            log.warning("account.updated %s names merchant %s, whom no region has: ignored", p["stripe_event_id"], merchant_id)
            return
    else:
        metadata = provider.client.v1.payment_intents.retrieve(p["object"]["payment_intent"]).to_dict()["metadata"]
        region, key, named = metadata["region"], metadata["checkout_id"], {"checkout_id": metadata["checkout_id"]}
    with router.unit_of_work(envelope.source_region) as uow:
        outbox.publish(uow.session, HANDED_ON, {**p, "to_region": region, **named}, key=key, causation_id=envelope.event_id)
        uow.commit()


def apply(envelope, session) -> None:
    """In the payment's (or the account's merchant's) region: move the intent forward, open the
    dispute, or record the account's state."""
    p = envelope.payload
    obj = p["object"]
    if obj["object"] == "payment_intent":
        _apply_intent(session, envelope, p, obj)
    elif obj["object"] == "dispute":
        _apply_dispute(session, envelope, p, obj)
    elif obj["object"] == "account":
        _apply_account(session, p, obj)


def _apply_intent(session, envelope, p, intent) -> None:
    checkout_id = intent["metadata"]["checkout_id"]
    moved = states.advance(session, checkout_id=checkout_id, intent=intent, event_type=p["type"], created=p["created"])
    if not moved.outcome_changed:
        return
    status = states.status_of(moved.payment.status)
    error = intent.get("last_payment_error") or {}
    outbox.publish(session, INTENT_UPDATED, {
        "checkout_id": checkout_id, "to_region": p["to_region"], "status": status.outcome,
        "reference": intent["id"], "reason": error.get("message") if status.outcome == "declined" else None,
    }, key=checkout_id, causation_id=envelope.event_id)


def _apply_dispute(session, envelope, p, dispute) -> None:
    row = session.get(StripeDispute, dispute["id"])
    if row is not None:  # later news of a known dispute: its status only
        row.status = dispute["status"]
        return
    session.add(StripeDispute(id=dispute["id"], region=session.info["database"], checkout_id=p["checkout_id"],
                              amount=dispute["amount"], currency=dispute["currency"].upper(),
                              reason=dispute.get("reason"), status=dispute["status"]))
    outbox.publish(session, DISPUTE_OPENED, {
        "checkout_id": p["checkout_id"], "merchant_id": None, "amount": dispute["amount"],
        "currency": dispute["currency"].upper(), "to_region": p["to_region"], "dispute_id": dispute["id"],
    }, key=p["checkout_id"], causation_id=envelope.event_id)


def _apply_account(session, p, obj) -> None:
    """The connected account's state, unless what is recorded is newer (accounts.record); an
    account that is not the merchant's (another platform's metadata, a replaced account) is not."""
    account = session.get(StripeAccount, p["merchant_id"], with_for_update=True)
    if account is None or account.account_id != obj["id"]:
        log.warning("account.updated %s: %s is not merchant %s's connected account: ignored", p["stripe_event_id"],
                    obj["id"], p["merchant_id"])
        return
    accounts.record(account, obj, at=p["created"])


def _pick(obj: dict, names: tuple[str, ...]) -> dict:
    return {name: obj.get(name) for name in names}
