"""Names unique across the marketplace (a storefront handle, a sign-in email) are claimed in
the directory before the account that takes them is written on its home shard.

Two databases and no transaction across them: a request can die, or lose its connection in
the middle of COMMIT, between any two steps. So taking a name has three steps, and stopping
after any of them leaves nothing that cannot be settled later:

1. claim: a pending `NameClaim` with a lease on the directory's own clock (never this
   process's, which may be wrong or paused). Its primary key keeps the name taken.
2. write the holder's row (the merchant for a handle, the staff user for an email) on the
   home shard.
3. settle: the holder's row exists, so the claim gives way to its pointers (StorefrontHandle
   or SignInHandle, and the holder's DirectoryEntry); or the row is not there and cannot come
   any more, so the claim is deleted and the name is free again.

The request settles its own claims when it knows the outcome: confirmed after its COMMIT,
released when it failed before sending COMMIT. When COMMIT itself failed (a lost connection:
the shard may or may not have the rows) it leaves them pending, as does a request that dies.
Whoever meets a pending claim settles it by looking at the shard: the sweep (`cpu accounts
sweep`), a sign-up or staff addition wanting the same name, a retry with the same
Idempotency-Key, a sign-in with the email. A claim whose row is absent is released only once
its lease ran out, since until then its request may still be committing; the lease is far
longer than a shard transaction lives (every statement has a deadline), so a row cannot land
after its claim was released.

What this promises: a pointer only ever names a row that exists (a sign-in or a password
reset never meets a staff user who is not there); a committed account gets its pointers as
soon as anyone looks; no name stays taken by a request that died.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.buyers.models import Buyer, BuyerSignInHandle, Company
from marketplace.errors import Conflict, RegionUnavailable
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.regions.base import database_now
from marketplace.regions.models import DirectoryEntry, NameClaim, RegistrationKey, SignInHandle, StorefrontHandle
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
# Far longer than a shard transaction of a sign-up lives (a few statements, each under its
# deadline: CPU_DB_REQUEST_DEADLINE, at most CPU_DB_BACKGROUND_DEADLINE), yet short enough
# that someone whose sign-up died can try again within minutes.
LEASE = timedelta(minutes=2)
HANDLE, EMAIL = "handle", "email"
# Buyers' sign-in emails (unique among buyers, apart from staff emails), and company ids: a
# company's directory pointer is what merchants' price lists are checked against, so it too
# must only ever name a company that exists. The account (`merchant_id`) is the buyer.
BUYER_EMAIL, COMPANY = "buyer_mail", "company"
CONFIRMED, RELEASED, PENDING, UNREACHABLE = "confirmed", "released", "pending", "unreachable"
NOT_FINISHED = "held by a request that has not finished; try again in a few minutes"


@dataclass(frozen=True)
class _Kind:
    field: str  # the request's field the name comes from
    taken: str  # what a 409 says of a name already in use
    holder: type  # the shard row whose existence settles the claim
    pointer: type  # the directory row that finds the holder once it is confirmed
    party: str  # the holder's kind in the directory


_KINDS = {
    HANDLE: _Kind("handle", "already taken", Merchant, StorefrontHandle, "merchant"),
    EMAIL: _Kind("email", "already registered", StaffUser, SignInHandle, "staff"),
    BUYER_EMAIL: _Kind("email", "already registered", Buyer, BuyerSignInHandle, "buyer"),
    COMPANY: _Kind("company", "already registered", Company, DirectoryEntry, "company"),
}


@dataclass
class Swept:
    confirmed: int = 0
    released: int = 0
    pending: int = 0  # lease still running, or the holder's region unreachable
    unreachable: set[str] = field(default_factory=set)


def claim(router: Router, *, claims: Sequence[NameClaim], also: Sequence[object] = ()) -> None:
    """Take the names for their holders, with other directory rows of the same request (`also`),
    in one transaction; or raise Conflict naming each field whose name is in use. Pending
    claims on these names are settled first: a name is never refused for a request that died."""
    _settle_claims_on(router, claims)
    try:
        with router.directory() as uow:
            expires_at = database_now(uow.session) + LEASE
            for name in claims:
                name.expires_at = expires_at
            uow.session.add_all([*claims, *also])
            uow.session.flush()
            # Looked up after the claims are in: a confirmation of the same name elsewhere has
            # either committed (its pointer is seen) or still holds its claim (the insert above
            # waited for it, or failed).
            taken = {_KINDS[name.kind].field: [_KINDS[name.kind].taken] for name in claims
                     if uow.session.get(_KINDS[name.kind].pointer, name.name) is not None}
            if taken:
                raise _conflict(claims, taken)
            uow.commit()
    except IntegrityError:  # a concurrent request claimed one of them (or the same registration key) first
        raise _conflict(claims, _in_use(router, claims)) from None


def write_claimed(router: Router, *, claims: Sequence[NameClaim], write: Callable[[Session], None]) -> None:
    """Write the holders' rows on their home shard (`write`, one unit of work), then confirm
    the claims. A failure before COMMIT was sent releases them (the shard has none of it); a
    failure of COMMIT itself leaves them pending, since the rows may be there."""
    commit_sent = False
    try:
        with router.unit_of_work(claims[0].region) as uow:
            write(uow.session)
            uow.session.flush()  # every refusal of the rows comes here, before COMMIT
            commit_sent = True
            uow.commit()
    except Exception:
        if not commit_sent:
            _release_quietly(router, claims)
        raise
    with router.directory() as uow:
        for pending in _locked(uow.session, claims):
            _confirm(uow.session, pending)
        uow.commit()


def settle(router: Router, name: NameClaim) -> str:
    """Confirm or release one pending claim, as its holder's shard says. PENDING while the
    row is absent and the lease runs, UNREACHABLE when the shard cannot be read."""
    try:
        with router.unit_of_work(name.region, read_only=True) as uow:
            written = uow.session.get(_KINDS[name.kind].holder, name.holder_id) is not None
    except RegionUnavailable:
        return UNREACHABLE
    # `expired` was read before the shard was: a row absent after the lease ran out cannot come any more.
    if not written and not name.expired:
        return PENDING
    with router.directory() as uow:
        for pending in _locked(uow.session, [name]):
            (_confirm if written else _release)(uow.session, pending)
        uow.commit()
    return CONFIRMED if written else RELEASED


def sweep(*, router: Router, merchant_id: str | None = None) -> Swept:
    """Settle every pending claim, or those of one merchant's account."""
    query = select(NameClaim).order_by(NameClaim.expires_at)
    if merchant_id is not None:
        query = query.where(NameClaim.merchant_id == merchant_id)
    with router.directory(read_only=True) as uow:
        pending = uow.session.scalars(query).all()
    swept = Swept()
    for name in pending:
        outcome = settle(router, name)
        if outcome == CONFIRMED:
            swept.confirmed += 1
        elif outcome == RELEASED:
            swept.released += 1
        else:
            swept.pending += 1
            if outcome == UNREACHABLE:
                swept.unreachable.add(name.region)
    return swept


def _settle_claims_on(router: Router, claims: Sequence[NameClaim]) -> None:
    with router.directory(read_only=True) as uow:
        earlier = uow.session.scalars(select(NameClaim).where(
            tuple_(NameClaim.kind, NameClaim.name).in_([(name.kind, name.name) for name in claims]))).all()
    for name in earlier:
        settle(router, name)


def _in_use(router: Router, claims: Sequence[NameClaim]) -> dict[str, list[str]]:
    with router.directory(read_only=True) as uow:
        in_use = {}
        for name in claims:
            kind = _KINDS[name.kind]
            if uow.session.get(NameClaim, (name.kind, name.name)) is not None:
                in_use[kind.field] = [NOT_FINISHED]
            elif uow.session.get(kind.pointer, name.name) is not None:
                in_use[kind.field] = [kind.taken]
        return in_use


def _conflict(claims: Sequence[NameClaim], errors: dict[str, list[str]]) -> Conflict:
    fields = " or ".join(_KINDS[name.kind].field for name in claims)
    return Conflict(f"That {fields} is already in use.", errors=errors)


def _locked(session: Session, claims: Sequence[NameClaim]) -> list[NameClaim]:
    """These claims if still pending, locked: two settlers of one claim take turns, and the
    second finds nothing left to do."""
    keys = [(name.kind, name.name, name.holder_id) for name in claims]
    return session.scalars(select(NameClaim).where(tuple_(NameClaim.kind, NameClaim.name, NameClaim.holder_id).in_(keys))
                           .with_for_update()).all()


def _confirm(session: Session, pending: NameClaim) -> None:
    session.delete(pending)
    if pending.kind == HANDLE:
        session.add(StorefrontHandle(handle=pending.name, merchant_id=pending.holder_id, region=pending.region))
    elif pending.kind == EMAIL:
        session.add(SignInHandle(email_digest=pending.name, staff_id=pending.holder_id, region=pending.region))
    elif pending.kind == BUYER_EMAIL:
        session.add(BuyerSignInHandle(email_digest=pending.name, buyer_id=pending.holder_id, region=pending.region))
    session.add(DirectoryEntry(party_id=pending.holder_id, kind=_KINDS[pending.kind].party, region=pending.region))


def _release(session: Session, pending: NameClaim) -> None:
    session.delete(pending)
    if pending.kind in (HANDLE, BUYER_EMAIL):  # the key of the sign-up that was to open this account: a retry starts afresh
        session.execute(delete(RegistrationKey).where(RegistrationKey.merchant_id == pending.holder_id))


def _release_quietly(router: Router, claims: Sequence[NameClaim]) -> None:
    try:
        with router.directory() as uow:
            for pending in _locked(uow.session, claims):
                _release(uow.session, pending)
            uow.commit()
    except Exception:  # they stay pending; the sweep releases them once the lease runs out
        log.warning("could not release the names claimed for %s", claims[0].holder_id, exc_info=True)
