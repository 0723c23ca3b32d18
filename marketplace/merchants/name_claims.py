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

With a directory copy per region (CPU_DIRECTORY_COPY, docs/decisions/0004), the claim is
held by the name's arbiter region (marketplace.merchants.arbiters), asked over the broker;
the home region keeps a copy of the claim (a *mirror*) in its own copy of the directory, so
that everything above still happens where the account's shard can be read: its sweep, a
retry, a sign-in settle the mirror and tell the arbiter. A confirmation reaches the arbiter
in any case with the account's pointer event, which is published in the account's own
transaction (marketplace.regions.pointers) and settles the claim wherever it is applied. A
release is sent to the arbiter; one it did not hear (lost, or overtaken by the claim itself
after a freeze) it finds out by asking the holder's region once the lease ran out (its
sweep): only that region can see whether the holder's row was written, so the arbiter never
releases another region's claim on its word alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.buyers.models import Buyer, BuyerSignInHandle, Company
from marketplace.errors import Conflict, RegionUnavailable
from marketplace.merchants import arbiters
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.regions import pointers
from marketplace.regions.base import database_now
from marketplace.regions.models import DirectoryEntry, NameClaim, RegistrationKey, SignInHandle, StorefrontHandle
from marketplace.regions.pointers import EMAIL, HANDLE
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
# Far longer than a shard transaction of a sign-up lives (a few statements, each under its
# deadline: CPU_DB_REQUEST_DEADLINE, at most CPU_DB_BACKGROUND_DEADLINE), yet short enough
# that someone whose sign-up died can try again within minutes.
LEASE = timedelta(minutes=2)
# Buyers' sign-in emails (unique among buyers, apart from staff emails), and company ids: a
# company's directory pointer is what merchants' price lists are checked against, so it too
# must only ever name a company that exists. The account (`merchant_id`) is the buyer.
BUYER_EMAIL, COMPANY = "buyer_mail", "company"
CONFIRMED, RELEASED, PENDING, UNREACHABLE = "confirmed", "released", "pending", "unreachable"
NOT_FINISHED = "held by a request that has not finished; try again in a few minutes"
FIELDS = ("kind", "name", "holder_id", "merchant_id", "region")  # what a claim is, as it travels to its arbiter


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
    pending: int = 0  # lease still running, the holder's region unreachable, or a holder of another region
    unreachable: set[str] = field(default_factory=set)


def claim(router: Router, *, claims: Sequence[NameClaim], also: Sequence[object] = ()) -> None:
    """Take the names for their holders, with other directory rows of the same request (`also`),
    or raise Conflict naming each field whose name is in use (RegionUnavailable naming the
    arbiter of a name that did not answer). Pending claims on these names are settled first:
    a name is never refused for a request that died. The names this directory decides, the
    mirrors of the others and `also` go in one local transaction; then each other arbiter is
    asked; a refusal gives back what was taken."""
    remote = _by_arbiter(router, claims)
    _claim_here(router, claims, also=also)
    held: list[NameClaim] = []  # names an arbiter may hold now
    try:
        for region, group in remote.items():
            held += group  # from the moment it is asked: an answer lost on its way back may hide a yes
            answer = arbiters.ask(router, region, "claim", {"claims": [_as_dict(name) for name in group]})
            if answer.get("conflict"):
                del held[-len(group):]  # refused: its transaction took none of them
                raise _conflict(claims, answer["conflict"])
    except (Conflict, RegionUnavailable) as exc:
        if isinstance(exc, arbiters.ArbiterUnavailable) and not exc.heard:  # it never got the question
            del held[-len(group):]
        _release_quietly(router, claims, held_by_arbiters=held)
        raise


def write_claimed(router: Router, *, claims: Sequence[NameClaim], write: Callable[[Session], None]) -> None:
    """Write the holders' rows on their home shard (`write`, one unit of work) with their
    pointer events, then confirm the claims. A failure before COMMIT was sent releases them
    (the shard has none of it); a failure of COMMIT itself leaves them pending, since the rows
    may be there."""
    commit_sent = False
    try:
        with router.unit_of_work(claims[0].region) as uow:
            write(uow.session)
            for name in claims:
                pointers.publish(uow.session, _pointer_of(name))
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
    _tell_arbiters(router, "confirm", [name for name in claims if _mirrored(router, name)])


def settle(router: Router, name: NameClaim, *, ask_holder: bool = False) -> str:
    """Confirm or release one pending claim of this directory, as its holder's shard says.
    PENDING while the row is absent and the lease runs; UNREACHABLE when the shard, or the
    arbiter of a mirrored claim, cannot be reached. A claim of another region's holder is
    settled by that region (it tells this arbiter); `ask_holder` (the sweep) asks it about
    one whose lease ran out, for the case where its word was lost or overtaken."""
    if router.settings.directory_copy and name.region != router.region:
        return _settle_for_another_region(router, name) if ask_holder else PENDING
    try:
        with router.unit_of_work(name.region, read_only=True) as uow:
            written = uow.session.get(_KINDS[name.kind].holder, name.holder_id) is not None
    except RegionUnavailable:
        return UNREACHABLE
    # `expired` was read before the shard was: a row absent after the lease ran out cannot come any more.
    if not written and not name.expired:
        return PENDING
    if not written and _mirrored(router, name):
        try:  # the arbiter first: while it holds the name, the mirror is what reminds this region
            _ask_arbiter(router, "release", [name])
        except RegionUnavailable:
            return UNREACHABLE
    with router.directory() as uow:
        for pending in _locked(uow.session, [name]):
            (_confirm if written else _release)(uow.session, pending)
        uow.commit()
    if written and _mirrored(router, name):
        _tell_arbiters(router, "confirm", [name])
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
        outcome = settle(router, name, ask_holder=True)
        if outcome == CONFIRMED:
            swept.confirmed += 1
        elif outcome == RELEASED:
            swept.released += 1
        else:
            swept.pending += 1
            if outcome == UNREACHABLE:  # the arbiter of a mirror, else the holder's region
                swept.unreachable.add(_arbiter(router, name) if _mirrored(router, name) else name.region)
    return swept


def answer_as_arbiter(router: Router) -> None:
    """Answer the other regions' questions about the names this region arbitrates (the
    process that runs the region's consumers does: `cpu events consume`, or the server's
    consumer threads)."""
    for question, handler in (("claim", _answer_claim), ("confirm", _answer_confirm), ("release", _answer_release)):
        arbiters.answer(router, question, lambda body, handler=handler: _answering(router, body, handler))
    arbiters.answer(router, "holder", lambda body: _answer_holder(router, body))


def _settle_for_another_region(router: Router, name: NameClaim) -> str:
    """An arbiter's claim of another region's holder, its lease over: that region says
    whether the holder was written (confirm) or is no longer wanted there (no mirror left:
    release). Its release can be lost, or overtaken by the claim itself (a question and the
    release that followed it answered in another order after a freeze): this is what frees
    the name then."""
    if not name.expired:
        return PENDING
    try:
        [state] = arbiters.ask(router, name.region, "holder", {"claims": [_as_dict(name)]})["holders"]
    except RegionUnavailable:
        return UNREACHABLE
    if not state["written"] and state["mirrored"]:
        return PENDING  # its own sweep settles it, and tells this arbiter
    with router.directory() as uow:
        for pending in _locked(uow.session, [name]):
            (_confirm if state["written"] else _release)(uow.session, pending)
        uow.commit()
    return CONFIRMED if state["written"] else RELEASED


def _answer_holder(router: Router, body: dict[str, Any]) -> dict[str, Any]:
    """For an arbiter: is each holder of this region written, and does this region still
    hold a mirror of its claim? The mirror is read first: it goes only after the row is
    committed (confirmed) or can no longer come (released), so an absent mirror and an absent
    row mean the name is not wanted any more."""
    claims = _claims_from(body)
    if any(name.kind not in _KINDS or name.region != router.region for name in claims):
        return {"refused": "not holders of this region"}
    holders = []
    try:
        for name in claims:
            with router.directory(read_only=True) as uow:
                mirrored = uow.session.scalar(select(NameClaim.holder_id).where(
                    NameClaim.kind == name.kind, NameClaim.name == name.name, NameClaim.holder_id == name.holder_id))
            with router.unit_of_work(name.region, read_only=True) as uow:
                written = uow.session.get(_KINDS[name.kind].holder, name.holder_id) is not None
            holders.append({"written": written, "mirrored": mirrored is not None})
    except RegionUnavailable:
        return {"unavailable": True}
    return {"holders": holders}


def _answering(router: Router, body: dict[str, Any], handler) -> dict[str, Any]:
    claims = _claims_from(body)
    if any(name.kind not in _KINDS or not arbiters.decides_here(router, name.kind, name.name)
           or name.region not in router.regions.regions for name in claims):
        return {"refused": "not names this region arbitrates"}
    try:
        return handler(router, claims)
    except RegionUnavailable:
        return {"unavailable": True}


def _answer_claim(router: Router, claims: list[NameClaim]) -> dict[str, Any]:
    try:
        _claim_here(router, claims)
    except Conflict as exc:
        return {"conflict": exc.errors}
    return {"ok": True}


def _answer_confirm(router: Router, claims: list[NameClaim]) -> dict[str, Any]:
    with router.directory() as uow:
        for pending in _locked(uow.session, claims):
            _confirm(uow.session, pending)
        uow.commit()
    return {"ok": True}


def _answer_release(router: Router, claims: list[NameClaim]) -> dict[str, Any]:
    with router.directory() as uow:
        for pending in _locked(uow.session, claims):
            _release(uow.session, pending)
        uow.commit()
    return {"ok": True}


def _claim_here(router: Router, claims: Sequence[NameClaim], *, also: Sequence[object] = ()) -> None:
    """Claims in this process's directory (the names it decides, and mirrors of the others)."""
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
    """The claim gives way to its pointers (the same upsert a pointer event makes elsewhere)."""
    pointers.apply(session, _pointer_of(pending))
    if pending.kind == BUYER_EMAIL:
        session.merge(BuyerSignInHandle(email_digest=pending.name, buyer_id=pending.holder_id, region=pending.region))
    if pending.kind in (BUYER_EMAIL, COMPANY):
        session.delete(pending)


def _release(session: Session, pending: NameClaim) -> None:
    session.delete(pending)
    if pending.kind in (HANDLE, BUYER_EMAIL):  # the key of the sign-up that was to open this account: a retry starts afresh
        session.execute(delete(RegistrationKey).where(RegistrationKey.merchant_id == pending.holder_id))


def _release_quietly(router: Router, claims: Sequence[NameClaim], *,
                     held_by_arbiters: Sequence[NameClaim] = ()) -> None:
    """Give the names back: first to the arbiters that may hold some, then here. An arbiter
    that does not hear it asks this region once the claim's lease ran out (its sweep), and
    finds neither mirror nor row: the request gave up before writing any, so none can come."""
    for region, group in _grouped(router, held_by_arbiters).items():
        try:
            arbiters.ask(router, region, "release", {"claims": [_as_dict(name) for name in group]})
        except RegionUnavailable:
            pass
    try:
        with router.directory() as uow:
            for pending in _locked(uow.session, claims):
                _release(uow.session, pending)
            uow.commit()
    except Exception:  # they stay pending; the sweep releases them once the lease runs out
        log.warning("could not release the names claimed for %s", claims[0].holder_id, exc_info=True)


def _pointer_of(name: NameClaim) -> dict[str, Any]:
    """What a confirmed claim points at. A buyer's or company's pointer carries the party alone:
    a buyer's email digest stays in its home region's directory (buyers sign in at home)."""
    if name.kind in (BUYER_EMAIL, COMPANY):
        return pointers.pointer(party_id=name.holder_id, kind=_KINDS[name.kind].party, region=name.region)
    if name.kind == HANDLE:
        return pointers.pointer(party_id=name.holder_id, kind=_KINDS[HANDLE].party, region=name.region, handle=name.name)
    return pointers.pointer(party_id=name.holder_id, kind=_KINDS[EMAIL].party, region=name.region,
                            email_digest=name.name, merchant_id=name.merchant_id)


def _as_dict(name: NameClaim) -> dict[str, str]:
    return {key: getattr(name, key) for key in FIELDS}


def _claims_from(body: dict[str, Any]) -> list[NameClaim]:
    return [NameClaim(**{key: str(item[key]) for key in FIELDS}) for item in body["claims"]]


def _arbiter(router: Router, name: NameClaim) -> str:
    return arbiters.arbiter_of(name.kind, name.name, router.regions.region_codes)


def _mirrored(router: Router, name: NameClaim) -> bool:
    """Whether this directory holds only a mirror of the claim, its arbiter being elsewhere."""
    return not arbiters.decides_here(router, name.kind, name.name)


def _grouped(router: Router, names: Sequence[NameClaim]) -> dict[str, list[NameClaim]]:
    groups: dict[str, list[NameClaim]] = {}
    for name in names:
        groups.setdefault(_arbiter(router, name), []).append(name)
    return groups


def _by_arbiter(router: Router, claims: Sequence[NameClaim]) -> dict[str, list[NameClaim]]:
    """The claims other regions decide, by arbiter."""
    return _grouped(router, [name for name in claims if _mirrored(router, name)])


def _ask_arbiter(router: Router, question: str, names: Sequence[NameClaim]) -> None:
    for region, group in _grouped(router, names).items():
        arbiters.ask(router, region, question, {"claims": [_as_dict(name) for name in group]})


def _tell_arbiters(router: Router, question: str, names: Sequence[NameClaim]) -> None:
    """Best effort: a confirmation that does not get through reaches the arbiter anyway, as
    the holder's pointer event, which settles the claim there."""
    try:
        _ask_arbiter(router, question, names)
    except RegionUnavailable as exc:
        log.info("arbiter %s not told to %s the names of %s; the pointer event will", exc.region, question,
                 names[0].holder_id, extra={"region": exc.region})
