"""Throttles on the doors that guessing and flooding knock on: signing in, asking for a
password reset link, opening accounts.

The limits live here, in one table, rather than scattered over the views: this is the
policy an operator reviews. Counting is Flask-Limiter's (moving windows, on the `limits`
library): in one process with the embedded default, or in Redis (CPU_RATE_LIMIT_STORAGE=
redis://...) when several processes or hosts serve, so that the limits hold across them. If
Redis is unreachable, each process counts on its own rather than refusing every sign-in.

Failed sign-ins are counted per account as well as per address: a guesser spreading over
many addresses still gets five tries a minute at one account, and the owner, after a wrong
password or two, is never locked out by strangers (the account is throttled, not locked).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

TOO_MANY_SIGN_INS = "Too many failed sign-ins for this account. Wait a minute, or reset the password."
TOO_MANY_REQUESTS = "Too many attempts from your address. Wait a little and try again."


def by_email() -> str:
    return "email:" + request.form.get("email", "").strip().lower()  # as accounts compares them


def failed(response: Response) -> bool:
    """Only failures count: a successful form post redirects."""
    return response.status_code >= 400


# endpoint -> (limits, key, counted when, message); all on POST only: reading a form is free.
LIMITS: dict[str, list[tuple[str, Callable[[], str], Callable[[Response], bool] | None, str]]] = {
    "storefront.account.sign_in": [
        ("30 per minute", get_remote_address, None, TOO_MANY_REQUESTS),
        ("5 per minute; 20 per hour", by_email, failed, TOO_MANY_SIGN_INS),
    ],
    "storefront.account.reset_request": [
        ("10 per hour", get_remote_address, None, TOO_MANY_REQUESTS),
        ("3 per hour", by_email, None, "A reset link was sent to this address recently; check your mail, or wait an hour."),
    ],
    "storefront.account.sign_up": [
        ("20 per hour", get_remote_address, None, TOO_MANY_REQUESTS),
    ],
}


def install(app: Flask, storage_uri: str) -> Limiter:
    """Wrap the views named in LIMITS with their limits; returns the app's limiter."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri, strategy="moving-window",
                      headers_enabled=True, swallow_errors=True, in_memory_fallback_enabled=True,
                      key_prefix="cpu")
    for endpoint, rules in LIMITS.items():
        view = app.view_functions[endpoint]
        for limits, key, counted_when, message in rules:
            view = limiter.limit(limits, key_func=key, methods=["POST"], deduct_when=counted_when,
                                 error_message=message)(view)
        app.view_functions[endpoint] = view
    app.extensions["cpu-throttle"] = limiter
    return limiter
