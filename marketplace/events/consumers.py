"""Named consumers: each applies an event once per region (its inbox), on its own.

A consumer is a name (`search.index`, `catalog.import`) with a handler per topic. Its name
keys its inbox, its queue of deliveries and, on the broker, its durable consumer, so a
consumer that fails is retried and parked alone while the others go on.

Two kinds of handler:
- transactional (`handler(envelope, session)`): writes only to its region's database; the
  inbox record goes in the same transaction (`inbox.apply`), so applied and recorded cannot
  part;
- with an outside side effect (`handler(envelope)`, the default: a search index, a job that
  commits its own steps): the effect must itself be idempotent, since the inbox record is
  written after it succeeds and a crash in between repeats it.

Where it runs: by default in the event's source region (the consumer reads what it needs
there); `everywhere` consumers apply the events of every region in each region (a copy kept
in every data center), which is what travels between brokers; `addressed` consumers apply
an event only in the region its payload names as `to_region` (a saga's request to a merchant's
region, and the answer back to the buyer's): the one way a step in one region asks another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marketplace.events import inbox
from marketplace.events.envelope import Envelope


@dataclass(frozen=True)
class Subscription:
    consumer: str
    topic: str
    handler: Callable[..., None] = field(compare=False)
    everywhere: bool = False
    transactional: bool = False
    addressed: bool = False  # applied only in payload["to_region"]

    def regions_for(self, envelope: Envelope, regions: list[str]) -> list[str]:
        """The regions this consumer applies the envelope in."""
        if self.addressed:
            return [envelope.payload["to_region"]]
        return list(regions) if self.everywhere else [envelope.source_region]

    def runs_in(self, region: str, envelope: Envelope) -> bool:
        if self.addressed:
            return envelope.payload.get("to_region") == region
        return self.everywhere or envelope.source_region == region

    def direct(self, event: Any) -> None:
        """Called without inbox or transport: what a relay without a transport does."""
        envelope = event.envelope
        if self.transactional:
            raise TypeError(f"consumer {self.consumer} writes in a transaction; relay it through a transport")
        self.handler(envelope)

    def apply_once(self, router, region: str, envelope: Envelope) -> bool:
        """Apply in `region` unless its inbox says it was; answers whether it ran."""
        if self.transactional:
            with inbox.apply(router, region, self.consumer, envelope) as uow:
                if uow is None:
                    return False
                self.handler(envelope, uow.session)
                uow.commit()
            return True
        if inbox.applied(router, region, self.consumer, envelope.event_id):
            return False
        self.handler(envelope)
        inbox.record(router, region, self.consumer, envelope.event_id)
        return True
