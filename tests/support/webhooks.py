"""A merchant's webhook receiver for the tests: a real HTTP server on 127.0.0.1 in a thread,
answering each POST with the next status of `answers` (the last one repeats), and keeping
what it was sent. Publishing the order events H9's orders package will publish, as it will."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from marketplace.regions import outbox


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    answers: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/cpu"


@contextmanager
def receiver(*answers: int) -> Iterator[Receiver]:
    state = Receiver(port=0, answers=list(answers or [200]))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.answers[min(len(state.received), len(state.answers)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # quiet: pytest shows what matters
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def order_event(merchant, *, order_id: str = "ord_01M8A0000000000000000000AB", state: str = "placed") -> dict:
    """A payload of the shape orders.* events carry (the orders package publishes them)."""
    return {"order_id": order_id, "merchant_id": merchant.merchant_id, "region": merchant.region,
            "checkout_id": "chk-1", "state": state, "total": {"amount_minor": 9000, "currency": "JMD"},
            "lines": [{"variant_id": "var_01M8A0000000000000000000AB", "sku": "BM-250", "name": "Blue Mountain coffee",
                       "quantity": 2, "unit_price_minor": 4500}],
            "occurred_at": "2026-12-02T12:00:00+00:00", "buyer_email_digest": "d" * 64}


def publish(router, region: str, topic: str, payload: dict) -> str:
    with router.unit_of_work(region) as uow:
        event_id = outbox.publish(uow.session, topic, payload)
        uow.commit()
    return event_id
