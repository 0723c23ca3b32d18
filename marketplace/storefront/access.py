"""Who may see a dashboard page: a staff user signed in with the session cookie.

Every dashboard blueprint installs `require_sign_in` as its before_request hook, so a page
cannot be added without the check. The pages then act for `g.principal` only, and every
service they call scopes its reads and writes to that merchant.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, redirect, request, url_for

from marketplace.merchants.auth import Principal
from marketplace.merchants.principal import signed_in_principal


def require_sign_in():
    """before_request: the signed-in principal in g, or a redirect to the sign-in page."""
    principal = signed_in_principal()
    if principal is None:
        wanted = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("storefront.account.sign_in", next=wanted))
    g.principal = principal
    return None


def principal() -> Principal:
    return g.principal


def no_store(response):
    """after_request: pages with a merchant's private data are not kept by caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site.

    Browsers drop tabs and newlines from addresses and read a backslash as a slash, so
    `/%09/evil.example` and `/\\evil.example` lead off the site although they start with one
    slash. Only a target made of printable characters without backslashes, that the standard
    library parses as a bare path (no scheme, no host) starting with one slash, is kept.
    """
    home = url_for("storefront.dashboard.home")
    if not target or not target.isprintable() or "\\" in target or target.startswith("//"):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return home
    return target
