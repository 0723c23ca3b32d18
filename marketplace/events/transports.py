"""Transports carry envelopes from a region's relay to the named consumers.

`EmbeddedTransport` (the default, `make run`): in process, into each consumer's own queue in
the regions it applies the event in (marketplace.events.deliveries), applied on the relay's
next pass over that region. The broker transport (marketplace.events.nats) publishes to the
region's JetStream stream instead. Both end in the same consumer and inbox code.
"""

from __future__ import annotations

import os
import socket

from marketplace.events import deliveries
from marketplace.events.envelope import Envelope
from marketplace.regions.ids import new_id


class EmbeddedTransport:
    def __init__(self, router, registry, *, policy):
        self.router = router
        self.registry = registry
        self.runner = deliveries.ConsumerRunner(router, registry, policy=policy, worker=consumer_worker_name())

    def send(self, envelope: Envelope) -> None:
        """Queued for every consumer of its topic, in each region it applies in (of those this
        process serves: another data center's are reached through a broker); a region that
        cannot take it fails the send, and the relay tries again (queueing twice is a no-op)."""
        by_region: dict[str, list[str]] = {}
        for subscription in self.registry.subscriptions_for(envelope.topic):
            for region in subscription.regions_for(envelope, self.router.served_regions):
                by_region.setdefault(region, []).append(subscription.consumer)
        for region, consumers in by_region.items():
            deliveries.enqueue(self.router, region, consumers, envelope)

    def pump(self, region: str):
        """Apply the region's ready deliveries (the relay's pass over the region calls this)."""
        return self.runner.run_once(region)


def consumer_worker_name() -> str:
    return f"consumers@{socket.gethostname()}:{os.getpid()}:{new_id('evt')[-8:]}"
