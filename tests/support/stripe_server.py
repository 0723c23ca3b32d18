"""A local HTTP server that answers the Stripe API calls the provider makes, so the real
`stripe` library (StripeClient with base_addresses pointed here) is exercised end to end.

Where the bodies come from: each object is shaped after the example object of Stripe's API
reference (https://docs.stripe.com/api: "The PaymentIntent object", "The Refund object", "The
Transfer object", "The Transfer Reversal object", "The Account object" with its `requirements`
hash, "The Account Link object", "The Dispute object"), trimmed to the fields the library and
our code read; the error body is the reference's "Errors" shape ({"error": {"type", "code",
"message", "param"}}). It keeps state as Stripe would for these flows (an intent is authorised,
captured, refunded up to what was captured; a transfer is reversed up to its amount) and honours
Idempotency-Key like Stripe: the same key answers the first response again, and reused with
other parameters is an idempotency_error. Every request is kept in `requests` for the tests to
look at. `refuse` makes the next call to an endpoint fail with an error body of Stripe's (as
Stripe answers a request refused before it ran, such as a rate limit, the refusal is not kept
under its key).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe


@dataclass
class Seen:
    method: str
    path: str
    params: dict
    idempotency_key: str | None


def parse_form(body: str) -> dict:
    """Stripe's form encoding (`metadata[checkout_id]=…`) back into nested dicts."""
    out: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _int(value) -> int | None:
    return None if value is None else int(value)


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None) -> None:
        self.status, self.body = status, {"error": {"type": type_, "message": message, "code": code}}


@dataclass
class FakeStripe:
    objects: dict = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    idempotent: dict = field(default_factory=dict)
    refusals: dict = field(default_factory=dict)  # endpoint ("transfers") -> errors to answer, first first
    lost: set = field(default_factory=set)  # endpoints whose next call is carried out, its answer lost
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._ids):08d}"

    def refuse(self, endpoint: str, status: int, type_: str, message: str, code: str | None = None) -> None:
        """The next POST to `endpoint` (the path after /v1/, e.g. "transfers") fails so."""
        self.refusals.setdefault(endpoint, []).append(StripeError(status, type_, message, code))

    def lose_answer(self, endpoint: str) -> None:
        """The next call to `endpoint` is carried out, but its answer never reaches the caller
        (a 500 instead, as when a connection drops after Stripe acted)."""
        self.lost.add(endpoint)

    def forget_keys(self) -> None:
        """What Stripe does to an idempotency key after 24 hours: a retry under it is new."""
        with self._lock:
            self.idempotent.clear()

    def handle(self, method: str, path: str, params: dict, key: str | None) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Seen(method, path, params, key))
            refused = self.refusals.get(path.strip("/").removeprefix("v1/")) if method == "POST" else None
            if refused:
                error = refused.pop(0)
                return error.status, error.body
            if method == "POST" and key:
                if key in self.idempotent:
                    first_params, answer = self.idempotent[key]
                    if first_params != params:
                        return 400, {"error": {"type": "idempotency_error", "message":
                                               "Keys for idempotent requests can only be used with the same parameters "
                                               "they were first used with."}}
                    return answer
            try:
                answer = 200, self._route(method, path, params)
            except StripeError as exc:
                answer = exc.status, exc.body
            if method == "POST" and key:
                self.idempotent[key] = (params, answer)
            endpoint = path.strip("/").removeprefix("v1/")
            if method == "POST" and endpoint in self.lost:
                self.lost.discard(endpoint)
                return 500, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
            return answer

    def _route(self, method, path, p):
        parts = path.strip("/").split("/")[1:]  # without "v1"
        match (method, parts):
            case ("POST", ["payment_intents"]):
                return self._store(self._intent(p))
            case ("GET", ["payment_intents", pid]):
                return self._get(pid)
            case ("POST", ["payment_intents", pid, "capture"]):
                return self._capture(self._get(pid), _int(p.get("amount_to_capture")))
            case ("POST", ["payment_intents", pid, "cancel"]):
                intent = self._get(pid)
                if intent["status"] == "succeeded":
                    raise StripeError(400, "invalid_request_error", "You cannot cancel this PaymentIntent because "
                                      "it has a status of succeeded.", "payment_intent_unexpected_state")
                intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason="requested_by_customer")
                return intent
            case ("POST", ["refunds"]):
                return self._refund(p)
            case ("POST", ["transfers"]):
                return self._store({"id": self.new_id("tr"), "object": "transfer", "amount": int(p["amount"]),
                                    "amount_reversed": 0, "currency": p["currency"], "destination": p["destination"],
                                    "transfer_group": p.get("transfer_group"), "metadata": p.get("metadata", {}),
                                    "reversed": False, "created": int(time.time()), "livemode": False})
            case ("GET", ["transfers"]):
                found = [o for o in self.objects.values() if o["object"] == "transfer"
                         and (not p.get("transfer_group") or o["transfer_group"] == p["transfer_group"])]
                return {"object": "list", "data": found, "has_more": False, "url": "/v1/transfers"}
            case ("POST", ["transfers", tid, "reversals"]):
                return self._reverse(self._get(tid), int(p["amount"]), p.get("metadata", {}))
            case ("POST", ["accounts"]):
                return self._store({"id": self.new_id("acct"), "object": "account", "country": p["country"],
                                    "type": p.get("type", "express"), "charges_enabled": False, "payouts_enabled": False,
                                    "details_submitted": False, "metadata": p.get("metadata", {}),
                                    "capabilities": {"transfers": "inactive"}, "created": int(time.time()),
                                    "requirements": {"currently_due": ["business_type", "external_account",
                                                                       "tos_acceptance.date"],
                                                     "past_due": [], "disabled_reason": "requirements.past_due"}})
            case ("GET", ["accounts", aid]):
                return self._get(aid)
            case ("POST", ["account_links"]):
                self._get(p["account"])
                now = int(time.time())
                return {"object": "account_link", "created": now, "expires_at": now + 300,
                        "url": f"https://connect.stripe.com/setup/e/{p['account']}/{self.new_id('link')}"}
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _store(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, object_id: str) -> dict:
        if object_id not in self.objects:
            raise StripeError(404, "invalid_request_error", f"No such object: '{object_id}'", "resource_missing")
        return self.objects[object_id]

    def _intent(self, p: dict) -> dict:
        intent_id = self.new_id("pi")
        return {"id": intent_id, "object": "payment_intent", "amount": int(p["amount"]), "amount_capturable": 0,
                "amount_received": 0, "capture_method": p.get("capture_method", "automatic_async"),
                "client_secret": f"{intent_id}_secret_{self.new_id('cs')}", "currency": p["currency"],
                "created": int(time.time()), "latest_charge": None, "last_payment_error": None, "livemode": False,
                "metadata": p.get("metadata", {}), "status": "requires_payment_method",
                "transfer_group": p.get("transfer_group"), "automatic_payment_methods": {"enabled": True}}

    def _capture(self, intent: dict, amount: int | None) -> dict:
        if intent["status"] != "requires_capture":
            raise StripeError(400, "invalid_request_error", "This PaymentIntent could not be captured because it has a "
                              f"status of {intent['status']}.", "payment_intent_unexpected_state")
        intent.update(status="succeeded", amount_capturable=0, amount_received=amount or intent["amount"])
        return intent

    def _refund(self, p: dict) -> dict:
        intent = self._get(p["payment_intent"])
        amount = _int(p.get("amount")) or intent["amount_received"]
        refunded = sum(o["amount"] for o in self.objects.values()
                       if o["object"] == "refund" and o["payment_intent"] == intent["id"])
        if amount > intent["amount_received"] - refunded:
            raise StripeError(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded "
                              f"amount on charge ({intent['amount_received'] - refunded})", "amount_too_large")
        return self._store({"id": self.new_id("re"), "object": "refund", "amount": amount, "currency": intent["currency"],
                            "payment_intent": intent["id"], "charge": intent["latest_charge"],
                            "metadata": p.get("metadata", {}), "status": "succeeded", "created": int(time.time())})

    def _reverse(self, transfer: dict, amount: int, metadata: dict) -> dict:
        if amount > transfer["amount"] - transfer["amount_reversed"]:
            raise StripeError(400, "invalid_request_error", "Reversal amount is greater than the amount remaining on "
                              "the transfer.", "amount_too_large")
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        return self._store({"id": self.new_id("trr"), "object": "transfer_reversal", "amount": amount,
                            "currency": transfer["currency"], "transfer": transfer["id"], "metadata": metadata,
                            "created": int(time.time())})

    # What the buyer's app and Stripe do on their own -------------------------------------------

    def buyer_confirms(self, intent_id: str, *, succeed: bool = True) -> dict:
        """The app confirmed with the client secret: authorised (manual capture), or declined."""
        with self._lock:
            intent = self._get(intent_id)
            if succeed:
                intent.update(status="requires_capture", amount_capturable=intent["amount"],
                              latest_charge=self.new_id("ch"))
            else:
                intent.update(status="requires_payment_method", last_payment_error={
                    "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                    "message": "Your card was declined."})
            return dict(intent)

    def account_onboarded(self, account_id: str, *, payouts: bool = True) -> dict:
        """The owner finished Stripe's onboarding: Stripe verified it (payouts enabled), or
        holds its payouts for a review (`payouts=False`, restricted)."""
        with self._lock:
            account = self._get(account_id)
            account.update(details_submitted=True, charges_enabled=payouts, payouts_enabled=payouts,
                           capabilities={"transfers": "active" if payouts else "inactive"},
                           requirements={"currently_due": [] if payouts else ["individual.verification.document"],
                                         "past_due": [], "disabled_reason": None if payouts else "under_review"})
            return dict(account)

    def dispute(self, intent_id: str, *, amount: int | None = None, reason: str = "fraudulent") -> dict:
        intent = self._get(intent_id)
        return {"id": self.new_id("dp"), "object": "dispute", "amount": amount or intent["amount_received"],
                "currency": intent["currency"], "charge": intent["latest_charge"], "payment_intent": intent_id,
                "reason": reason, "status": "needs_response", "metadata": {}, "created": int(time.time()),
                "is_charge_refundable": False, "livemode": False}


def event(fake: FakeStripe, type_: str, obj: dict, *, created: int | None = None, account: str | None = None) -> dict:
    """A webhook event body around `obj`, as Stripe's "The Event object" shows it. An event on a
    connected account (`account`, by default the account itself for `account.*`) carries the
    account's id at the top, as Connect webhooks do."""
    body = {"id": fake.new_id("evt"), "object": "event", "api_version": stripe._api_version._ApiVersion.CURRENT,
            "created": created or int(time.time()), "data": {"object": dict(obj)}, "livemode": False,
            "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": type_}
    account = account or (obj["id"] if type_.startswith("account.") else None)
    return {**body, "account": account} if account else body


def signed(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: the library's own generator."""
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        params = parse_form(raw if self.command == "POST" else url.query)
        status, body = self.fake.handle(self.command, url.path, params, self.headers.get("Idempotency-Key"))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{len(self.fake.requests)}")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


class StripeServer:
    """`with StripeServer() as server:` a fake Stripe at server.url, its state in server.fake."""

    def __init__(self) -> None:
        self.fake = FakeStripe()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StripeServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
