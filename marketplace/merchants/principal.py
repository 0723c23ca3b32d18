"""Finding the Principal of a request: a merchant API key (`Authorization: Bearer cpu.…`) or
a signed-in staff user's session cookie."""

from __future__ import annotations

from flask import g, request

from marketplace.merchants import api_keys, session_cookie
from marketplace.merchants.auth import NotAuthenticated, Principal
from marketplace.platform import router


def current_principal() -> Principal:
    """The caller, or NotAuthenticated (401). Cached for the request."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("Use `Authorization: Bearer <API key>`.")
        g.principal = api_keys.authenticate(router=router(), token=token.strip())
    elif (principal := signed_in_principal()) is not None:
        g.principal = principal
    else:
        raise NotAuthenticated("Sign in or send a merchant API key.")
    return g.principal


def require_principal() -> None:
    """A blueprint's before_request: who is calling is settled before the body is read, so
    an anonymous caller learns 401 and nothing about what the body should look like."""
    current_principal()


def signed_in_principal() -> Principal | None:
    """The staff user of the session, or None: for pages that change when signed in."""
    return session_cookie.principal_from_cookie()
