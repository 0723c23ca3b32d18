"""The inbox: the event ids each named consumer has applied in a region, so a redelivery
(at least once is all a relay or a broker promises) is a no-op."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from marketplace.events.envelope import Envelope
from marketplace.regions.models import InboxEntry


@contextmanager
def apply(router, region: str, consumer: str, envelope: Envelope) -> Iterator:
    """`with inbox.apply(router, region, consumer, envelope) as uow:` a unit of work on
    `region` that already holds the inbox record, so the consumer's writes and the record
    commit together; None when the event was applied before (do nothing)."""
    with router.unit_of_work(region) as uow:
        if uow.session.get(InboxEntry, (consumer, envelope.event_id)) is not None:
            yield None
            return
        uow.session.add(InboxEntry(consumer=consumer, event_id=envelope.event_id))
        yield uow


def applied(router, region: str, consumer: str, event_id: str) -> bool:
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.get(InboxEntry, (consumer, event_id)) is not None


def record(router, region: str, consumer: str, event_id: str) -> None:
    """After an idempotent side effect: a second record of the same id is a no-op."""
    try:
        with router.unit_of_work(region) as uow:
            uow.session.add(InboxEntry(consumer=consumer, event_id=event_id))
            uow.commit()
    except sa_exc.IntegrityError:
        pass  # recorded meanwhile by another delivery of the same event
