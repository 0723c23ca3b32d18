"""Each consumer's own queue in a region: attempts, backoff and parking per consumer.

The embedded transport queues every delivery here; the broker transport only those it
parked after their deliveries ran out, once an operator replays them. `ConsumerRunner`
applies what is ready, in event order per consumer and partition key: an event waits while
an earlier one of its key is held by a runner or waiting out a failure's backoff (a parked
one no longer holds its key up: parking is the operator's signal, and a key stalled for
good would be worse). A delivery is claimed with a lease like an outbox event, attempts
counted at claim; once applied it is deleted, the inbox remembering it.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from marketplace.errors import RegionUnavailable
from marketplace.events import inbox
from marketplace.events.envelope import Envelope
from marketplace.regions.base import database_now
from marketplace.regions.models import ConsumerDelivery

log = logging.getLogger(__name__)


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0  # already in the consumer's inbox
    failed: int = 0
    parked: int = 0

    def add(self, other: ConsumerStats) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.failed += other.failed
        self.parked += other.parked


# What became of each event of a batch: True applied now, False applied before (its inbox has
# it), an exception: it failed, None: not tried, held behind an earlier failure of its key.
Outcome = bool | BaseException | None


def apply_batch(router, region: str, consumer: str, items: list[tuple[Any, Envelope]]) -> list[Outcome]:
    """Apply a batch of (subscription, envelope) of one consumer in `region`, in order, with as
    few transactions as it takes: one inbox read for the batch; then for each run of
    transactional handlers one transaction holding their writes and inbox records (should one
    fail, the run is rolled back and applied again an event per transaction, so only the
    failing event fails), and for each run of side effects the effects, then their inbox
    records in one statement. After an event fails, the later ones of its key are not tried.

    The region's database failing outside a handler (it is down) is no event's fault: it is
    raised, and none of the batch counts an attempt; what committed before is in the inbox."""
    outcomes: list[Outcome] = [None] * len(items)
    with router.unit_of_work(region, read_only=True) as uow:
        done = inbox.applied_among(uow.session, consumer, list({e.event_id for _, e in items}))
    failed_keys: set[str] = set()
    for run in _runs(items):
        todo = []
        for i in run:
            envelope = items[i][1]
            if envelope.key in failed_keys:
                continue
            if envelope.event_id in done:
                outcomes[i] = False
                continue
            done.add(envelope.event_id)  # a second copy in the batch is a duplicate
            todo.append(i)
        if todo:
            apply_run = _apply_transactions if items[todo[0]][0].transactional else _apply_effects
            apply_run(router, region, consumer, [(i, *items[i]) for i in todo], outcomes, failed_keys)
    return outcomes


def _runs(items: list[tuple[Any, Envelope]]) -> list[list[int]]:
    """Indexes of consecutive items whose handlers are of one kind (transactional or not)."""
    runs: list[list[int]] = []
    for i, (subscription, _) in enumerate(items):
        if runs and items[runs[-1][0]][0].transactional == subscription.transactional:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _apply_effects(router, region, consumer, todo, outcomes, failed_keys) -> None:
    ran = []
    for i, subscription, envelope in todo:
        if envelope.key in failed_keys:
            continue
        try:
            subscription.handler(envelope)
        except RegionUnavailable:  # the region is away, not the event at fault: the whole batch waits
            raise
        except Exception as exc:
            outcomes[i] = exc
            failed_keys.add(envelope.key)
        else:
            ran.append((i, envelope.event_id))
    if ran:  # after the effects, as for one event: a crash in between repeats them (they are idempotent)
        with router.unit_of_work(region) as uow:
            inbox.add_all(uow.session, consumer, [event_id for _, event_id in ran])
            uow.commit()
    for i, _ in ran:
        outcomes[i] = True


def _apply_transactions(router, region, consumer, todo, outcomes, failed_keys) -> None:
    if len(todo) > 1:
        try:
            with router.unit_of_work(region) as uow:
                for _, subscription, envelope in todo:
                    subscription.handler(envelope, uow.session)
                inbox.add_all(uow.session, consumer, [envelope.event_id for _, _, envelope in todo])
                uow.commit()
        except RegionUnavailable:
            raise
        except Exception:  # one of them failed, or a concurrent copy got there first: one by one, below
            pass
        else:
            for i, _, _ in todo:
                outcomes[i] = True
            return
    for i, subscription, envelope in todo:
        if envelope.key in failed_keys:
            continue
        try:
            outcomes[i] = subscription.apply_once(router, region, envelope)
        except RegionUnavailable:
            raise
        except Exception as exc:
            outcomes[i] = exc
            failed_keys.add(envelope.key)


def enqueue(router, region: str, consumers: list[str], envelope: Envelope) -> None:
    """Queue `envelope` for each consumer in `region`; a second queueing of it is a no-op."""
    rows = [{"consumer": name, "event_id": envelope.event_id, "partition_key": envelope.key,
             "envelope": envelope.to_dict(), "attempts": 0} for name in consumers]
    if not rows:
        return
    from marketplace.regions.outbox import PUBLISHED  # outbox imports this module

    with router.unit_of_work(region) as uow:
        now = database_now(uow.session)
        insert = (postgresql.insert if uow.session.bind.dialect.name == "postgresql" else sqlite.insert)(ConsumerDelivery)
        uow.session.execute(insert.values([{**r, "available_at": now} for r in rows]).on_conflict_do_nothing())
        uow.session.info[PUBLISHED] = True  # the region's relay in this process pumps it at once, not at its next poll
        uow.commit()


def park(router, region: str, consumer: str, envelope: Envelope, *, attempts: int, error: str) -> None:
    """A delivery whose attempts ran out elsewhere (on the broker): parked here, in its region."""
    with router.unit_of_work(region) as uow:
        now = database_now(uow.session)
        uow.session.merge(ConsumerDelivery(consumer=consumer, event_id=envelope.event_id, partition_key=envelope.key,
                                           envelope=envelope.to_dict(), attempts=attempts, available_at=now,
                                           parked_at=now, last_error=error[:2000]))
        uow.commit()


def parked(router, region: str, *, consumer: str | None = None) -> list[ConsumerDelivery]:
    query = select(ConsumerDelivery).where(ConsumerDelivery.parked_at.is_not(None)).order_by(ConsumerDelivery.event_id)
    if consumer is not None:
        query = query.where(ConsumerDelivery.consumer == consumer)
    with router.unit_of_work(region, read_only=True) as uow:
        return list(uow.session.scalars(query))


def replay(router, region: str, *, consumer: str | None = None, event_id: str | None = None) -> int:
    """Queue parked deliveries again with fresh attempts (of one consumer, or one event)."""
    condition = [ConsumerDelivery.parked_at.is_not(None)]
    if consumer is not None:
        condition.append(ConsumerDelivery.consumer == consumer)
    if event_id is not None:
        condition.append(ConsumerDelivery.event_id == event_id)
    with router.unit_of_work(region) as uow:
        count = uow.session.execute(
            update(ConsumerDelivery).where(*condition)
            .values(parked_at=None, attempts=0, available_at=database_now(uow.session), claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return count


class ConsumerRunner:
    """Applies a region's ready deliveries, each consumer on its own."""

    def __init__(self, router, registry, *, policy, worker: str):
        self.router = router
        self.registry = registry
        self.policy = policy
        self.worker = worker

    def run_once(self, region: str) -> ConsumerStats:
        stats = ConsumerStats()
        failed_keys: set[tuple[str, str]] = set()
        claimed = self._claim(region)
        for delivery in claimed:
            key = (delivery.consumer, delivery.partition_key)
            if key in failed_keys:  # an earlier event of its key just failed: it waits its turn
                self._release(region, delivery)
                continue
            envelope = Envelope.from_dict(delivery.envelope)
            try:
                ran = self._apply(region, delivery.consumer, envelope)
            except Exception as exc:
                failed_keys.add(key)
                outcome = self._record_failure(region, delivery, exc)
                stats.parked += outcome == "parked"
                stats.failed += outcome == "failed"
            else:
                self._record_applied(region, delivery)
                stats.applied += ran
                stats.duplicates += not ran
        return stats

    def _apply(self, region: str, consumer: str, envelope: Envelope) -> bool:
        subscriptions = [s for s in self.registry.subscriptions_for(envelope.topic) if s.consumer == consumer]
        if not subscriptions:
            raise LookupError(f"consumer {consumer} has no handler of topic {envelope.topic!r}")
        return subscriptions[0].apply_once(self.router, region, envelope)

    def _claim(self, region: str) -> list[Any]:
        d, earlier = ConsumerDelivery, aliased(ConsumerDelivery)
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            held_up = exists().where(
                earlier.consumer == d.consumer, earlier.partition_key == d.partition_key, earlier.event_id < d.event_id,
                earlier.parked_at.is_(None), or_(earlier.available_at > now, earlier.claimed_until >= now))
            ready = uow.session.execute(
                select(d.consumer, d.event_id)
                .where(d.parked_at.is_(None), d.available_at <= now,
                       or_(d.claimed_until.is_(None), d.claimed_until < now), ~held_up)
                .order_by(d.event_id).limit(self.policy.batch_size)
                .with_for_update(skip_locked=True, of=d)
            ).all()
            if not ready:
                return []
            rows = uow.session.execute(
                update(d).where(tuple_(d.consumer, d.event_id).in_([tuple(r) for r in ready]))
                .values(claimed_by=self.worker, claimed_until=now + self.policy.lease, attempts=d.attempts + 1)
                .returning(d.consumer, d.event_id, d.partition_key, d.envelope, d.attempts)
                .execution_options(synchronize_session=False)
            ).all()
            uow.commit()
        return sorted(rows, key=lambda r: r.event_id)

    def _mine(self, delivery, now: datetime):
        d = ConsumerDelivery
        return and_(d.consumer == delivery.consumer, d.event_id == delivery.event_id, d.claimed_by == self.worker,
                    d.claimed_until >= now)

    def _release(self, region: str, delivery) -> None:
        """Back to the queue untried: the attempt it was claimed with does not count."""
        with self.router.unit_of_work(region) as uow:
            uow.session.execute(update(ConsumerDelivery).where(self._mine(delivery, database_now(uow.session)))
                                .values(claimed_by=None, claimed_until=None, attempts=ConsumerDelivery.attempts - 1)
                                .execution_options(synchronize_session=False))
            uow.commit()

    def _record_applied(self, region: str, delivery) -> None:
        with self.router.unit_of_work(region) as uow:
            uow.session.execute(delete(ConsumerDelivery).where(self._mine(delivery, database_now(uow.session)))
                                .execution_options(synchronize_session=False))
            uow.commit()

    def _record_failure(self, region: str, delivery, exc: Exception) -> str:
        is_parked = delivery.attempts >= self.policy.max_attempts
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        with self.router.unit_of_work(region) as uow:
            now = database_now(uow.session)
            later = {"parked_at": now} if is_parked else {"available_at": now + self.policy.backoff(delivery.attempts)}
            uow.session.execute(update(ConsumerDelivery).where(self._mine(delivery, now))
                                .values(claimed_by=None, claimed_until=None, last_error=error, **later)
                                .execution_options(synchronize_session=False))
            uow.commit()
        (log.error if is_parked else log.warning)(
            "consumer %s: event %s (%s) %s after attempt %d: %s", delivery.consumer, delivery.event_id,
            delivery.envelope["topic"], "parked" if is_parked else "will be retried", delivery.attempts, error,
            extra={"event_id": delivery.event_id, "topic": delivery.envelope["topic"], "region": region})
        return "parked" if is_parked else "failed"
