"""Order mail, sent by named consumers after the events commit, never inside a request.

- `mail.order_received` (on `orders.created`, published on the merchant's shard): a notice to
  the merchant's owners, read and sent in the merchant's region.
- `mail.order_confirmation` (on `checkouts.confirmed`, published in the buyer's region): the
  buyer's confirmation, sent from there, the one region that holds the buyer's address.

Sending is an outside side effect: the inbox is written after the gateway took the message, so
a crash in between sends it twice (the rare duplicate is the price of never losing one). A
gateway that fails (MailNotSent) fails the delivery, which the consumer machinery retries and
then parks for an operator. Log lines name event ids, never addresses or bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable

from marketplace.events.envelope import Envelope
from marketplace.mail.compose import compose
from marketplace.mail.gateways import MailGateway
from marketplace.merchants import service as merchants
from marketplace.money import Money
from marketplace.notifications import recipients

log = logging.getLogger(__name__)

MERCHANT_NOTICE, BUYER_CONFIRMATION = "mail.order_received", "mail.order_confirmation"


def register_handlers(registry, router, mail: Callable[[], MailGateway]) -> None:
    @registry.consumer(MERCHANT_NOTICE, "orders.created")
    def order_received(envelope: Envelope) -> None:
        send_order_received(router, mail(), envelope)

    @registry.consumer(BUYER_CONFIRMATION, "checkouts.confirmed")
    def order_confirmation(envelope: Envelope) -> None:
        send_order_confirmation(router, mail(), envelope)


def _money(total: dict, language: str) -> str:
    return Money(int(total["amount_minor"]), total["currency"]).format(language)


def send_order_received(router, mail: MailGateway, envelope: Envelope) -> int:
    """The new-order notice to each owner of the order's merchant; answers how many were sent."""
    payload = envelope.payload
    merchant, owners = merchants.owner_emails(router=router, region=envelope.source_region,
                                              merchant_id=payload["merchant_id"])
    if merchant is None:
        log.warning("no new-order notice for event %s: its merchant is not in region %s", envelope.event_id,
                    envelope.source_region, extra={"event_id": envelope.event_id})
        return 0
    language, currency = merchant.default_language, payload["total"]["currency"]
    lines = [{"quantity": line["quantity"], "name": line["name"], "sku": line["sku"],
              "unit_price": _money({"amount_minor": line["unit_price_minor"], "currency": currency}, language)}
             for line in payload.get("lines", [])]
    for owner in owners:
        mail.send(compose("order_received", to=owner, language=language, merchant_name=merchant.name,
                          order_id=payload["order_id"], lines=lines, total=_money(payload["total"], language)))
    return len(owners)


def send_order_confirmation(router, mail: MailGateway, envelope: Envelope) -> bool:
    """The buyer's confirmation of a checkout, read and sent in the buyer's region."""
    payload = envelope.payload
    with router.unit_of_work(envelope.source_region, read_only=True) as uow:
        to = recipients.recipient_for_buyer(uow.session, payload["buyer_id"])
    if to is None:
        log.warning("no order confirmation for event %s: the buyer has no address in region %s", envelope.event_id,
                    envelope.source_region, extra={"event_id": envelope.event_id})
        return False
    orders = [{"merchant_name": o["merchant_name"], "order_id": o["order_id"], "total": _money(o["total"], "en")}
              for o in payload.get("orders", [])]
    mail.send(compose("order_confirmation", to=to, language="en", orders=orders))
    return True
