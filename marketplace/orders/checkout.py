"""Starting a checkout, and reading one: the buyer-region end of the saga (saga.py has the rest).

`start` is one transaction in the buyer's region: the checkout with one leg per merchant, the
cart emptied, the Idempotency-Key remembered, and one `orders.requested` event per merchant,
addressed to the merchant's region, keyed by the checkout (so each consumer sees a checkout's
events in order). Nothing is reserved or priced here: the merchant's region does both when the
request arrives, and answers. A retry with the same key and body returns the first checkout
(twenty at once too: the key's row is unique, the losers find the winner's), another body 422.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from marketplace.buyers import addresses
from marketplace.buyers.identity import BuyerPrincipal
from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.orders import cart
from marketplace.orders.models import Checkout, CheckoutLeg
from marketplace.regions import idempotency, outbox
from marketplace.regions.base import database_now
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.router import Router
from payments.gateways import CARD, OFFLINE_METHODS, CardNeedsStripe, PaymentProviders

REQUESTED, PAYING, CONFIRMING, COMPLETED, FAILED = "requested", "paying", "confirming", "completed", "failed"
INVOICE = "invoice"  # on net terms: each merchant's region checks its grant (buyers.terms)
PAYMENT_METHODS = (CARD, *OFFLINE_METHODS)  # card first: the default (schemas.CheckoutInSchema)
SHIP_TO_FIELDS = ("recipient", "line1", "line2", "city", "postal_code", "country")


def start(*, router: Router, buyer: BuyerPrincipal, shipping_address_id: str, payment_method: str,
          idempotency_key: str | None, leg_seconds: int, hold_seconds: int,
          payments: PaymentProviders | None = None) -> Checkout:
    """Check out the cart: one order request per merchant, sent to the merchant's region. The
    provider that will take the payment is chosen now (`payments`, the platform's by default)
    and recorded on the checkout; a method no provider here takes is refused before anything."""
    if idempotency_key is None:
        raise InvalidInput("A checkout needs an Idempotency-Key header.", errors={"Idempotency-Key": ["required"]})
    key = idempotency.checked_key(idempotency_key)
    scope = f"checkout:{buyer.buyer_id}"
    request = idempotency.fingerprint({"shipping_address_id": shipping_address_id, "payment_method": payment_method})
    try:
        first = idempotency.replayed(router, buyer.region, scope=scope, key=key, request_fingerprint=request, fetch=_fetch)
        if first is not None:
            return first
        if payment_method == INVOICE and buyer.company_id is None:
            raise InvalidInput("Paying by invoice on net terms is for company buyers whom the merchant granted terms.",
                               errors={"payment_method": ["invoice needs a company buyer with net terms"]})
        provider = _provider_for(payments, payment_method)
        try:
            return _create(router, buyer, scope, key, request, shipping_address_id, payment_method, provider,
                           leg_seconds, hold_seconds)
        except IntegrityError:  # a concurrent retry with this key committed first
            first = idempotency.replayed(router, buyer.region, scope=scope, key=key, request_fingerprint=request, fetch=_fetch)
            if first is None:
                raise
            return first
    except Conflict as exc:
        raise InvalidInput("This Idempotency-Key was already used for a different checkout.",
                           errors={"Idempotency-Key": ["used with another body"]}) from exc


def _provider_for(payments: PaymentProviders | None, payment_method: str) -> str:
    if payments is None:
        from marketplace.platform import platform

        payments = platform().payments
    try:
        return payments.name_for(payment_method)
    except CardNeedsStripe as exc:
        raise InvalidInput(str(exc), errors={"payment_method": ["card payments are not available here"]}) from None


def _create(router, buyer, scope, key, request, shipping_address_id, payment_method, provider, leg_seconds,
            hold_seconds) -> Checkout:
    checkout_id = new_id("chk")
    with router.unit_of_work(buyer.region) as uow:
        session = uow.session
        # The key first: a concurrent retry waits here for the winner, then finds its checkout
        # (IntegrityError), instead of reading a cart the winner has emptied meanwhile.
        idempotency.remember(session, scope=scope, key=key, request_fingerprint=request, resource_id=checkout_id)
        session.flush()
        address = addresses.owned_in(session, owner_id=buyer.buyer_id, address_id=shipping_address_id)
        lines = cart.lines_in(session, buyer.buyer_id)
        if not lines:
            raise InvalidInput("Your cart is empty.", errors={"cart": ["no lines"]})
        now = database_now(session)
        checkout = Checkout(id=checkout_id, region=buyer.region, buyer_id=buyer.buyer_id, state=REQUESTED,
                            currency=buyer.currency, payment_method=payment_method, payment_provider=provider,
                            created_at=now,
                            ship_to={name: getattr(address, name) for name in SHIP_TO_FIELDS},
                            deadline_at=now + timedelta(seconds=leg_seconds))
        by_merchant = defaultdict(list)
        for line in lines:
            by_merchant[(line.merchant_id, line.merchant_region)].append(line)
        for (merchant_id, merchant_region), group in by_merchant.items():
            asked = [{"variant_id": line.variant_id, "quantity": line.quantity} for line in group]
            checkout.legs.append(CheckoutLeg(merchant_id=merchant_id, region=buyer.region, merchant_region=merchant_region,
                                             state=REQUESTED, lines=asked))
            outbox.publish(session, "orders.requested", {
                "checkout_id": checkout.id, "merchant_id": merchant_id, "to_region": merchant_region,
                "buyer_region": buyer.region, "company_id": buyer.company_id, "payment_method": payment_method, "lines": asked,
                "ship_to": checkout.ship_to, "deadline_at": checkout.deadline_at.isoformat(), "hold_seconds": hold_seconds,
            }, key=checkout.id)
        for line in lines:
            session.delete(line)
        session.add(checkout)
        uow.commit()
    return get(router=router, buyer=buyer, checkout_id=checkout.id)


def _fetch(session, checkout_id: str) -> Checkout | None:
    checkout = session.get(Checkout, checkout_id)
    if checkout is not None:
        _ = checkout.legs
    return checkout


def get(*, router: Router, buyer: BuyerPrincipal, checkout_id: str) -> Checkout:
    """One of the buyer's checkouts, with each merchant's outcome."""
    with router.unit_of_work(buyer.region, read_only=True) as uow:
        checkout = _fetch(uow.session, checkout_id) if is_id(checkout_id, "chk") else None
        if checkout is None or checkout.buyer_id != buyer.buyer_id:
            raise NotFound(f"No checkout {checkout_id}.")
        return checkout
