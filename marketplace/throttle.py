"""Throttles on the doors that guessing and flooding knock on: signing in, asking for a
password reset link, opening accounts.

The limits live here, in one table, rather than scattered over the views: this is the
policy an operator reviews. Counting is Flask-Limiter's (moving windows, on the `limits`
library): in one process with the embedded default, or in Redis (CPU_RATE_LIMIT_STORAGE=
redis://..., required in production) so that the limits hold across processes and hosts. If
Redis does not answer within a fraction of a second, each process counts on its own rather
than holding every sign-in up.

Sign-in guesses are limited three ways:
- per account and client address, failures only: five a minute, twenty an hour. The owner's
  own typos never keep the owner out from another address;
- per account and client address, every attempt: ten a minute. Failures are counted after
  the password check, so without this, guesses sent all at once would all be checked;
- per account, every attempt from anywhere: a hundred an hour, the ceiling on a guesser who
  spreads over many addresses. The price: such a guesser can keep the owner waiting too;
  the owner can still reset the password (reset links are limited per address and account).
Client addresses are IPv6 /64 networks (one host holds a whole /64) or single IPv4 addresses.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from marketplace.merchants.auth import digest

TOO_MANY_SIGN_INS = "Too many sign-in attempts for this account. Wait a few minutes, or reset the password."
TOO_MANY_REQUESTS = "Too many attempts from your address. Wait a little and try again."
TOO_MANY_RESETS = "Reset links were sent to this address recently; check your mail, or wait an hour."
# Redis that does not answer must not hold requests: fail fast, then count in the process.
REDIS_OPTIONS = {"socket_connect_timeout": 0.3, "socket_timeout": 0.3, "retry": Retry(NoBackoff(), 0)}


def client_address() -> str:
    """The client's address, or its /64 network for IPv6."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def account() -> str:
    """The address as accounts compares them, as its keyed digest: Flask-Limiter logs the keys
    it refuses and stores them in Redis, and neither is a place for email addresses."""
    body = request.get_json(silent=True) if request.is_json else request.form  # the buyer API's JSON, or a form
    email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().lower() if isinstance(email, str) else ""
    return "email:" + digest(current_app.extensions["cpu"].settings.email_lookup_key, email)[:32]


def account_from_address() -> str:
    return f"{account()}|{client_address()}"


def wrong_password(response: Response) -> bool:
    """A refused sign-in is a 422 (the form) or a 401 (the buyer API); outages (503) and our
    own errors are not the user's guesses."""
    return response.status_code in (401, 422)


Rule = tuple[str, Callable[[], str], Callable[[Response], bool] | None, str]
# endpoint -> (limits, key, counted when (None: always), message); POST only: reading a form is free.
LIMITS: dict[str, list[Rule]] = {
    "storefront.account.sign_in": [
        ("30 per minute", client_address, None, TOO_MANY_REQUESTS),
        ("5 per minute; 20 per hour", account_from_address, wrong_password, TOO_MANY_SIGN_INS),
        ("10 per minute", account_from_address, None, TOO_MANY_SIGN_INS),
        ("100 per hour", account, None, TOO_MANY_SIGN_INS),
    ],
    "storefront.account.reset_request": [
        ("10 per hour", client_address, None, TOO_MANY_REQUESTS),
        ("3 per hour", account_from_address, None, TOO_MANY_RESETS),
        ("10 per hour", account, None, TOO_MANY_RESETS),
    ],
    "storefront.account.sign_up": [
        ("20 per hour", client_address, None, TOO_MANY_REQUESTS),
    ],
    "merchants.Merchants": [  # the same sign-up, as JSON
        ("20 per hour", client_address, None, TOO_MANY_REQUESTS),
    ],
}
# The buyers' mobile API: the same doors, the same limits.
LIMITS["buyer_auth.Tokens"] = LIMITS["storefront.account.sign_in"]
LIMITS["buyer_auth.PasswordReset"] = LIMITS["storefront.account.reset_request"]
LIMITS["buyers.Buyers"] = LIMITS["merchants.Merchants"]


def install(app: Flask, storage_uri: str) -> Limiter:
    """Wrap the views named in LIMITS with their limits; returns the app's limiter."""
    options = REDIS_OPTIONS if storage_uri.startswith("redis") else {}
    limiter = Limiter(client_address, app=app, storage_uri=storage_uri, storage_options=options,
                      strategy="moving-window", headers_enabled=True, swallow_errors=True,
                      in_memory_fallback_enabled=True, key_prefix="cpu")
    for endpoint, rules in LIMITS.items():
        view = app.view_functions[endpoint]
        for limits, key, counted_when, message in rules:
            view = limiter.limit(limits, key_func=key, methods=["POST"], deduct_when=counted_when,
                                 error_message=message)(view)
        app.view_functions[endpoint] = view
    _only_on(app, limiter, frozenset(LIMITS))
    app.extensions["cpu-throttle"] = limiter
    return limiter


def _only_on(app: Flask, limiter: Limiter, endpoints: frozenset[str]) -> None:
    """Run the limiter's request hooks only for the throttled endpoints. Flask-Limiter hooks
    every request to look for limits, which cost the hot read paths a fifth of their time
    while only a few POSTs have any; without default limits nothing else can be limited."""
    def gated(hook):
        @functools.wraps(hook)
        def run(*args):
            if request.endpoint in endpoints:
                return hook(*args)
            return args[0] if args and isinstance(args[0], Response) else None
        return run

    def ours(hook) -> bool:
        return getattr(hook, "__self__", None) is limiter or (getattr(hook, "args", ())[:1] == (limiter,))

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        chain = hooks.get(None, [])
        chain[:] = [gated(hook) if ours(hook) else hook for hook in chain]
