"""The inbox: the event ids each named consumer has applied in a region, so a redelivery
(at least once is all a relay or a broker promises) is a no-op."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.events.envelope import Envelope
from marketplace.regions.base import utcnow
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


def applied_among(session, consumer: str, event_ids: list[str]) -> set[str]:
    """Which of these events the consumer has applied: one query for a whole batch."""
    if not event_ids:
        return set()
    return set(session.scalars(select(InboxEntry.event_id).where(InboxEntry.consumer == consumer,
                                                                InboxEntry.event_id.in_(event_ids))))


def add_all(session, consumer: str, event_ids: list[str]) -> None:
    """The records of a batch, in the caller's transaction, in one statement; one already there is kept."""
    if not event_ids:
        return
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(InboxEntry)
    now = utcnow()
    session.execute(insert.on_conflict_do_nothing(),  # many rows of one cached statement, not a new one per size
                    [{"consumer": consumer, "event_id": e, "applied_at": now} for e in event_ids])
