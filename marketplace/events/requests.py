"""Questions to another region that need an answer now: NATS request/reply over the same
brokers the events travel through (docs/decisions/0004).

Events are for what may arrive later; a few things cannot wait (may this sign-up have this
storefront handle?), so a region asks the region that decides and waits a short deadline for
the reply. The subject names the region that answers (`cpu.ask.<region>.<topic>`); each region
runs responders in a queue group, so one of its processes answers each question. Across data
centers the question and its reply travel over the leafnode links like any core NATS message,
and nothing is stored: no reply within the deadline (the region is down, cut off, or has no
responder running) is `NoAnswer`, and the caller decides what that means (a 503 naming it).

A connection of its own, beside the event transport's: questions must not queue behind a
relay's publishes, and an answer must not wait for an event loop busy fetching events.
Bodies are JSON objects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import nats
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from marketplace.events.broker import EventLoop

log = logging.getLogger(__name__)
SUBJECT_PREFIX = "cpu.ask"
CONNECT_TIMEOUT = 2.0


class NoAnswer(Exception):
    """The region asked did not answer within the deadline (down, unreachable, no responder)."""

    def __init__(self, region: str, reason: str, *, heard: bool = True):
        super().__init__(f"no answer from region {region}: {reason}")
        self.region = region
        self.heard = heard  # False: certainly never received (no responder had subscribed)


def subject(region: str, topic: str) -> str:
    return f"{SUBJECT_PREFIX}.{region}.{topic}"


class Asker:
    """One process's connection for asking and answering; opened on first use, reconnecting by
    itself after that (a question asked while it is away gets no answer, not a hang)."""

    def __init__(self, url: str, *, name: str):
        self.url = url
        self.name = name
        self._loop: EventLoop | None = None
        self._nc = None
        self._lock = threading.Lock()

    def ask(self, region: str, topic: str, body: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """The answer of `region` to `body`, or NoAnswer within about `timeout` seconds."""
        try:
            nc = self._connected(timeout)
        except Exception as exc:  # this data center's broker cannot be reached: nothing was sent
            raise NoAnswer(region, f"broker not reachable ({type(exc).__name__})", heard=False) from None
        try:
            reply = self._loop.run(nc.request(subject(region, topic), json.dumps(body).encode(), timeout=timeout),
                                   timeout=timeout + 1)
        except NoRespondersError:  # the servers know nobody who answers for `region`: nobody heard it
            raise NoAnswer(region, "no responder", heard=False) from None
        except (NatsTimeout, asyncio.TimeoutError, TimeoutError, OSError, nats.errors.Error) as exc:
            # It may have been heard, or still be on its way (a client reconnecting sends what it
            # buffered): the caller must treat it as perhaps done.
            raise NoAnswer(region, f"no reply within {timeout:g} s ({type(exc).__name__})") from None
        return json.loads(reply.data)

    def answer(self, region: str, topic: str, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Answer questions to `region` on `topic` with `handler` (run on a worker thread), one
        responder of the region's queue group."""
        nc = self._connected(CONNECT_TIMEOUT * 5)

        async def respond(message) -> None:
            try:
                body = json.loads(message.data)
                reply = await asyncio.to_thread(handler, body)
            except Exception:  # the asker gets no answer and says the region is unavailable
                log.exception("question %s to region %s failed", topic, region, extra={"region": region})
                return
            await message.respond(json.dumps(reply).encode())

        self._loop.run(nc.subscribe(subject(region, topic), queue=f"cpu-ask-{region}", cb=respond), timeout=10)
        self._loop.run(nc.flush(timeout=5), timeout=6)  # subscribed at the server before the caller goes on

    def close(self) -> None:
        with self._lock:
            if self._nc is not None:
                try:
                    self._loop.run(self._nc.close(), timeout=5)
                except Exception:
                    log.warning("request connection %s not closed cleanly", self.name, exc_info=True)
                self._nc = None
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    def _connected(self, timeout: float):
        with self._lock:
            if self._nc is None:
                self._loop = self._loop or EventLoop()
                # The first connection is bounded (nats-py would retry it for ever); once made,
                # it reconnects by itself. Never the URL in a log line: it may hold a token.
                wait = min(timeout, CONNECT_TIMEOUT)
                self._nc = self._loop.run(asyncio.wait_for(nats.connect(
                    self.url, name=self.name, connect_timeout=wait, allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5, error_cb=self._trouble), wait), timeout=wait + 1)
            return self._nc

    async def _trouble(self, error: Exception) -> None:
        log.warning("request connection %s: %r", self.name, error)
