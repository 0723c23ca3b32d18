"""Server-checked sessions of signed-in staff users.

A signed cookie alone would decide who the caller is until it expires: a copy taken before
signing out would go on working, and nothing could end it early. So the cookie carries only a
random token and the home region; the session itself is a row in that region (only the
token's digest is kept), checked on every request. Ending it is deleting the row: signing out
ends this browser's session, "sign out everywhere", a password reset or a role change end all
of a staff user's sessions (`revoke_all`, to call inside the unit of work that changes them).

A check is kept in the process for `CPU_PRINCIPAL_CACHE_SECONDS` (`recent_principals`), so a
busy dashboard does not read the shard on every request; revocations in this process forget
their entries at once, other processes see them within that many seconds.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from marketplace.merchants import recent_principals
from marketplace.merchants.auth import Principal, new_secret, sha256
from marketplace.merchants.models import StaffSession, StaffUser
from marketplace.regions.base import utcnow
from marketplace.regions.router import Router

SESSION_LIFETIME = timedelta(hours=12)  # also the cookie's lifetime (PERMANENT_SESSION_LIFETIME)


def start(*, router: Router, principal: Principal) -> str:
    """Open a session for a staff user who has just proved who they are; answers its token."""
    token = new_secret()
    with router.unit_of_work(principal.region) as uow:
        uow.session.add(StaffSession(token_digest=sha256(token), region=principal.region, staff_id=principal.staff_id,
                                     expires_at=utcnow() + SESSION_LIFETIME))
        uow.commit()
    return token


def principal_for(*, router: Router, region: str, token: str) -> Principal | None:
    """The staff user of a live session, with their role as it is now; None for an ended one."""
    key, cache = sha256(token), recent_principals.of(router)
    cached = cache.get(key)
    if cached is not None:
        return cached
    if region not in router.regions.regions:
        return None
    query = (select(StaffUser.id, StaffUser.merchant_id, StaffUser.role)
             .join(StaffSession, StaffSession.staff_id == StaffUser.id)
             .where(StaffSession.token_digest == key, StaffSession.expires_at > utcnow()))
    with router.unit_of_work(region, read_only=True) as uow:
        row = uow.session.execute(query).first()
    if row is None:
        return None
    principal = Principal(merchant_id=row.merchant_id, region=region, staff_id=row.id, role=row.role)
    cache.put(key, principal)
    return principal


def end(*, router: Router, region: str, token: str) -> None:
    """Sign this browser out: its cookie, and every copy of it, stops working."""
    key = sha256(token)
    recent_principals.of(router).drop_where(lambda digest, _principal: digest == key)
    if region not in router.regions.regions:
        return
    with router.unit_of_work(region) as uow:
        uow.session.execute(delete(StaffSession).where(StaffSession.token_digest == key))
        uow.commit()


def end_all(*, router: Router, principal: Principal) -> None:
    """Sign a staff user out everywhere."""
    with router.unit_of_work(principal.region) as uow:
        revoke_all(uow.session, router=router, staff_id=principal.staff_id)
        uow.commit()


def revoke_all(session: Session, *, router: Router, staff_id: str) -> None:
    """End every session of a staff user, in the caller's unit of work on their home region:
    call it wherever their password or role changes."""
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    recent_principals.of(router).drop_where(lambda _key, principal: principal.staff_id == staff_id)


def seal_for_showing(*, router: Router, region: str, token: str, secret: str) -> str:
    """Keep a secret for its one showing on the next page, split in two: the session's row
    holds it sealed with a one-time pad, and the answer (the pad) goes to the browser. The
    cookie alone, or a copy of it, tells nothing; the row alone tells nothing, and it is
    emptied by the first page that shows the secret, so a replayed cookie shows nothing."""
    plain = secret.encode()
    pad = secrets.token_bytes(len(plain))
    sealed = bytes(a ^ b for a, b in zip(plain, pad))
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(StaffSession).where(StaffSession.token_digest == sha256(token))
                            .values(sealed_secret=base64.urlsafe_b64encode(sealed).decode()))
        uow.commit()
    return base64.urlsafe_b64encode(pad).decode()


def open_once(*, router: Router, region: str, token: str, pad: str) -> str | None:
    """The secret `seal_for_showing` kept, taken off the row as it is read; None once shown."""
    mine = StaffSession.token_digest == sha256(token)
    with router.unit_of_work(region) as uow:
        sealed = uow.session.scalar(select(StaffSession.sealed_secret).where(mine))
        if sealed is None:
            return None
        taken = uow.session.execute(  # emptied only if still there: of two pages at once, one shows it
            update(StaffSession).where(mine, StaffSession.sealed_secret == sealed).values(sealed_secret=None)
            .execution_options(synchronize_session=False)).rowcount
        uow.commit()
    if not taken:
        return None
    try:
        plain = bytes(a ^ b for a, b in zip(base64.urlsafe_b64decode(sealed), base64.urlsafe_b64decode(pad), strict=True))
        return plain.decode()
    except (TypeError, ValueError):  # nothing kept, or a pad that is not this one
        return None
