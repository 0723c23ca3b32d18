"""Who the buyer of a request is: `current_buyer()` for endpoints open to everyone that
change for a signed-in buyer (the public catalog, search), `require_buyer()` for the buyer's
own endpoints.

Cheap: a checked access token is cached in the process for a few seconds (tokens), and for
the rest of the request in `g`, so calling it again costs a dictionary read."""

from __future__ import annotations

from flask import g, request

from marketplace.buyers import tokens
from marketplace.buyers.identity import BuyerPrincipal
from marketplace.merchants.auth import NotAuthenticated
from marketplace.platform import router

__all__ = ["BuyerPrincipal", "current_buyer", "require_buyer", "require_buyer_before_request"]


def current_buyer() -> BuyerPrincipal | None:
    """The signed-in buyer (an access token in `Authorization: Bearer cpb.…`), or None when
    the request carries no buyer token (anonymous, or a merchant's API key). A buyer token
    that is not valid, expired or revoked is a 401: the app should refresh it, not be shown
    what an anonymous caller sees."""
    if "buyer" in g:
        return g.buyer
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    buyer = None
    if scheme.lower() == "bearer" and token.startswith(f"{tokens.ACCESS}."):
        buyer = tokens.authenticate(router=router(), access_token=token)
    g.buyer = buyer
    return buyer


def require_buyer() -> BuyerPrincipal:
    """The signed-in buyer, or NotAuthenticated (401)."""
    buyer = current_buyer()
    if buyer is None:
        raise NotAuthenticated("Sign in and send `Authorization: Bearer <access token>`.")
    return buyer


def require_buyer_before_request() -> None:
    """A blueprint's before_request: who is calling is settled before the body is read."""
    require_buyer()
