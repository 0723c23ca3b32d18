"""The dashboard's session cookie: it carries a session token and the staff user's home
region (and flash messages, and for one redirect the pad of a new key's sealed secret);
`sessions` decides on the server whether the session is still live."""

from __future__ import annotations

from flask import session

from marketplace.merchants import sessions
from marketplace.merchants.auth import Principal
from marketplace.platform import router

REGION, TOKEN, PAD = "region", "session_token", "reveal_pad"


def principal_from_cookie() -> Principal | None:
    """The signed-in staff user of this request, or None (no cookie, or an ended session)."""
    region, token = session.get(REGION), session.get(TOKEN)
    if not (isinstance(region, str) and isinstance(token, str)):
        return None
    return sessions.principal_for(router=router(), region=region, token=token)


def remember(principal: Principal) -> None:
    """Sign this browser in, with a new session (never one an attacker planted before)."""
    token = sessions.start(router=router(), principal=principal)
    session.clear()
    session.permanent = True
    session.update({REGION: principal.region, TOKEN: token})


def forget() -> None:
    """Sign this browser out, ending its session on the server too."""
    region, token = session.get(REGION), session.get(TOKEN)
    session.clear()
    if isinstance(region, str) and isinstance(token, str):
        sessions.end(router=router(), region=region, token=token)


def forget_everywhere(principal: Principal) -> None:
    """Sign this staff user out of every browser, this one included."""
    session.clear()
    sessions.end_all(router=router(), principal=principal)


def keep_for_next_page(secret: str) -> None:
    """Carry a secret across a redirect to the page that shows it once (sessions.seal_for_showing)."""
    session[PAD] = sessions.seal_for_showing(router=router(), region=session[REGION], token=session[TOKEN], secret=secret)


def take_kept() -> str | None:
    """The secret `keep_for_next_page` carried, once; None on every later page and replay."""
    pad = session.pop(PAD, None)
    region, token = session.get(REGION), session.get(TOKEN)
    if not (isinstance(pad, str) and isinstance(region, str) and isinstance(token, str)):
        return None
    return sessions.open_once(router=router(), region=region, token=token, pad=pad)
