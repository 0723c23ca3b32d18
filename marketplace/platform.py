"""The platform object an application carries: settings, region map, router, outbox handlers,
the mail gateway and the in-process relay. Views and commands reach it through `platform()` / `router()`."""

from __future__ import annotations

import atexit
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from flask import current_app

from marketplace.config import Settings
from marketplace.events.broker import BrokerTransport
from marketplace.events.transports import EmbeddedTransport
from marketplace.mail.gateways import MailGateway, gateway_for
from marketplace.regions.outbox import HandlerRegistry, Relay, RelayPolicy
from marketplace.regions.regionmap import RegionMap
from marketplace.regions.router import Router
from payments.gateways import PaymentProviders, StandInCard

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: Settings
    regions: RegionMap
    router: Router
    handlers: HandlerRegistry = field(default_factory=HandlerRegistry)
    chores: list = field(default_factory=list)  # chore(region) -> how much it did, run by every relay's pass (Relay)
    _relay_stop: threading.Event | None = None
    _search: object | None = None
    _search_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def search(self):
        """The search engine, opened on first use (the embedded one holds files open)."""
        if self._search is None:
            from search.gateways import engine_for

            with self._search_lock:
                if self._search is None:
                    self._search = engine_for(self.settings)
        return self._search

    @cached_property
    def stripe(self):
        """The Stripe provider of CPU_STRIPE_SECRET_KEY, or None: the offline methods only."""
        if not self.settings.stripe_secret_key:
            return None
        from payments.stripe.provider import StripeProvider, client_for

        return StripeProvider(client_for(self.settings), self.router)

    @cached_property
    def payments(self) -> PaymentProviders:
        """Which provider takes each payment method (payments.gateways): a card goes to Stripe
        with a key, to the stand-in card when CPU_STANDIN_CARD is on (never with a key, never in
        production), and is refused otherwise. Tests put `PaymentProviders.only(a declining
        provider)` here."""
        card = self.stripe or (StandInCard() if self.settings.standin_card else None)
        return PaymentProviders(card=card)

    @cached_property
    def mail(self) -> MailGateway:
        """The SMTP server or folder of .eml files that CPU_MAIL_URL names."""
        return gateway_for(self.settings)

    def relay(self, **kwargs) -> Relay:
        """A relay that hands events to the transport: in process, or to the region's broker."""
        kwargs.setdefault("policy", RelayPolicy(retention=timedelta(days=self.settings.outbox_retention_days)))
        if "transport" not in kwargs:
            kwargs["transport"] = self.broker if self.settings.broker_url else EmbeddedTransport(
                self.router, self.handlers, policy=kwargs["policy"])
        kwargs.setdefault("chores", self.chores)
        return Relay(self.router, self.handlers, **kwargs)

    @cached_property
    def broker(self) -> BrokerTransport:
        """This process's connection to its data center's broker (CPU_BROKER_URL), opened on first use."""
        return BrokerTransport(self.router, self.handlers, url=self.settings.broker_url,
                               policy=RelayPolicy(retention=timedelta(days=self.settings.outbox_retention_days)))

    def start_relay_thread(self) -> None:
        """The embedded default's relay: a daemon thread in the server process."""
        if self._relay_stop is not None:
            return
        self._relay_stop = threading.Event()
        thread = threading.Thread(
            target=self.relay().run_forever,
            args=(self._relay_stop, self.settings.relay_interval),
            name="outbox-relay",
            daemon=True,
        )
        thread.start()
        if self.settings.broker_url:
            threading.Thread(target=self.broker.consume, args=(self._relay_stop,), name="event-consumers", daemon=True).start()
            self.answer_for_names(self._relay_stop)
        atexit.register(self._relay_stop.set)
        log.info("outbox relay thread started%s", " with the broker's consumers" if self.settings.broker_url else "")

    def answer_for_names(self, stop: threading.Event | None = None) -> None:
        """With a directory copy per region (CPU_DIRECTORY_COPY), answer the other regions'
        questions about the names this region arbitrates; it runs where the region's consumers
        run (docs/decisions/0004). Subscribed from a thread that keeps trying while the
        region's broker is away, so a process starts without it; once subscribed, the client
        subscribes again by itself after any reconnection."""
        if not self.settings.directory_copy:
            return
        from marketplace.merchants import name_claims

        stop = stop or threading.Event()

        def subscribe() -> None:
            while not stop.is_set():
                try:
                    name_claims.answer_as_arbiter(self.router)
                    return
                except Exception as exc:
                    log.warning("name arbiter of region %s not answering yet: %r", self.settings.region, exc,
                                extra={"region": self.settings.region})
                    stop.wait(1)

        subscribing = threading.Thread(target=subscribe, name="name-arbiter", daemon=True)
        subscribing.start()
        subscribing.join(timeout=5)  # usually subscribed at once; a broker away must not hold up the start

    def stop_relay_thread(self) -> None:
        if self._relay_stop is not None:
            self._relay_stop.set()
            self._relay_stop = None


def platform() -> Platform:
    return current_app.extensions["cpu"]


def router() -> Router:
    return platform().router
