"""Mobile sign-in: short-lived access tokens and rotating refresh tokens, per device.

A sign-in opens a BuyerSession (one device) with an access token (15 minutes) and a refresh
token (30 days). A refresh spends its refresh token and answers a new pair in the same
session; a refresh token presented a second time means a copy is in someone else's hands,
so the whole session (the family of its tokens) is revoked, and whoever holds the newer
tokens must sign in again. Signing out revokes this device's session; signing out
everywhere, or a password reset, revokes all of the buyer's sessions.

Both tokens name the buyer's home region (`cpb.<region>.…` access, `cpr.<region>.…`
refresh), so any data center's edge sends them home without a lookup (marketplace.edge).

Refresh tokens are 256-bit random secrets (`secrets`); only their SHA-256 digest is kept, on
the buyer's shard. Access tokens are signed, not stored (itsdangerous, Flask's own signing
library, with CPU_SECRET_KEY and its fallbacks, so keys rotate as for cookies): they carry
the buyer's id, session, expiry and what other regions need to know of the caller (country,
language, currency, company and role). Why signed: a buyer reads products in their
merchants' regions, whose processes cannot open the buyer's shard (region-local processes),
yet must know the buyer's company to price for it. So:
- in the buyer's home region (or the all-regions embedded process) every check also reads
  the session and the buyer (cached a few seconds): a revocation counts at once, and a role
  or profile change too;
- in another region, the signature and the expiry are all there is: a signed-out token is
  refused there within its remaining minutes at most.
Expiry is on the shard's clock when the token is issued and checked (`clock`, database_now),
which tests may replace.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from marketplace.buyers.identity import BuyerPrincipal
from marketplace.buyers.models import Buyer, BuyerSession, BuyerToken
from marketplace.merchants.auth import NotAuthenticated, new_secret, sha256
from marketplace.merchants.recent_principals import RecentPrincipals
from marketplace.regions.base import database_now, utcnow
from marketplace.regions.ids import new_id
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=30)
ACCESS, REFRESH = "cpb", "cpr"
SIGNING_SALT = "cpu.buyer-access-token"  # never valid as a session cookie's or CSRF token's signature


def clock(session: Session | None = None) -> datetime:
    """The time tokens are issued and checked by: the shard's clock; this host's for a cached
    check, which has no session (the cache keeps an entry a few seconds at most)."""
    return database_now(session) if session is not None else utcnow()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    refresh_expires_in: int
    buyer_id: str
    region: str
    token_type: str = "Bearer"


def start(*, router: Router, buyer_id: str, region: str) -> TokenPair:
    """A new device session for a buyer who has just proved who they are."""
    with router.unit_of_work(region) as uow:
        device = BuyerSession(id=new_id("ses"), region=region, buyer_id=buyer_id)
        uow.session.add(device)
        uow.session.flush()
        pair = _mint(uow.session, router, device, uow.session.get(Buyer, buyer_id), now=clock(uow.session))
        uow.commit()
    return pair


def refresh(*, router: Router, refresh_token: str) -> TokenPair:
    """Spend a refresh token for a new pair; a second use of one revokes its whole session."""
    refused = NotAuthenticated("The refresh token is not valid; sign in again.")
    region, secret = _parsed(router, refresh_token, REFRESH)
    if region is None:
        raise refused
    token_digest, reused = sha256(secret), None
    with router.unit_of_work(region) as uow:
        now = clock(uow.session)
        row = uow.session.execute(
            select(BuyerToken, BuyerSession).join(BuyerSession, BuyerSession.id == BuyerToken.session_id)
            .where(BuyerToken.token_digest == token_digest)).one_or_none()
        if row is None or row[1].revoked_at is not None or row[0].expires_at <= now:
            raise refused
        device = row[1]
        spent = uow.session.execute(  # of two refreshes with one token, exactly one spends it
            update(BuyerToken).where(BuyerToken.token_digest == token_digest, BuyerToken.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
        if spent:
            pair = _mint(uow.session, router, device, uow.session.get(Buyer, device.buyer_id), now=now)
        else:
            reused = device.id
            _revoke(uow.session, router, BuyerSession.id == device.id, now=now, why="refresh reused")
        uow.commit()
    if reused is not None:
        log.warning("a spent refresh token was presented again; session %s revoked", reused,
                    extra={"session_id": reused})
        raise refused
    return pair


def authenticate(*, router: Router, access_token: str) -> BuyerPrincipal:
    """The buyer an access token stands for, or NotAuthenticated (401)."""
    refused = NotAuthenticated("The access token is not valid or has expired; refresh it or sign in.")
    region, signed = _parsed(router, access_token, ACCESS)
    try:
        claims = _signer(router).loads(signed) if region is not None else None
    except BadSignature:
        claims = None
    if not isinstance(claims, dict) or claims.get("region") != region:
        raise refused
    if region not in router.served_regions:  # the home region is away from here: the signature is the proof
        if claims["exp"] <= clock().timestamp():
            raise refused
        return _principal(claims)
    cache = _cache(router)
    cached = cache.get(signed)
    if cached is not None and claims["exp"] > clock().timestamp():
        return cached
    query = (select(Buyer).join(BuyerSession, BuyerSession.buyer_id == Buyer.id)
             .where(BuyerSession.id == claims["session"], BuyerSession.revoked_at.is_(None)))
    with router.unit_of_work(region, read_only=True) as uow:
        buyer = uow.session.scalars(query).one_or_none()
        now = clock(uow.session) if buyer is not None else None
    if buyer is None or claims["exp"] <= now.timestamp():
        raise refused
    principal = BuyerPrincipal(buyer_id=buyer.id, region=region, country=buyer.home_country, language=buyer.language,
                               currency=buyer.currency, company_id=buyer.company_id, company_role=buyer.company_role,
                               session_id=claims["session"])
    cache.put(signed, principal)
    return principal


def end(*, router: Router, principal: BuyerPrincipal) -> None:
    """Sign this device out: its access and refresh tokens stop working."""
    with router.unit_of_work(principal.region) as uow:
        _revoke(uow.session, router, BuyerSession.id == principal.session_id, now=clock(uow.session), why="signed out")
        uow.commit()


def end_all(*, router: Router, principal: BuyerPrincipal) -> None:
    """Sign the buyer out on every device."""
    with router.unit_of_work(principal.region) as uow:
        revoke_all(uow.session, router=router, buyer_id=principal.buyer_id, why="everywhere")
        uow.commit()


def revoke_all(session: Session, *, router: Router, buyer_id: str, why: str) -> None:
    """Revoke every session of a buyer, in the caller's unit of work on their home region:
    call it wherever their password changes."""
    _revoke(session, router, BuyerSession.buyer_id == buyer_id, now=clock(session), why=why)
    forget(router, buyer_id=buyer_id)


def forget(router: Router, *, buyer_id: str) -> None:
    """Drop this process's cached checks of a buyer's tokens: their role or company changed,
    so the next request reads them again."""
    _cache(router).drop_where(lambda _key, principal: principal.buyer_id == buyer_id)


def _revoke(session: Session, router: Router, which, *, now: datetime, why: str) -> None:
    revoked = session.scalars(update(BuyerSession).where(which, BuyerSession.revoked_at.is_(None))
                              .values(revoked_at=now, revoked_why=why).returning(BuyerSession.id)
                              .execution_options(synchronize_session=False)).all()
    ended = set(revoked)
    _cache(router).drop_where(lambda _key, principal: principal.session_id in ended)


def _mint(session: Session, router: Router, device: BuyerSession, buyer: Buyer, *, now: datetime) -> TokenPair:
    refresh_secret = new_secret()
    session.add(BuyerToken(token_digest=sha256(refresh_secret), region=device.region, session_id=device.id,
                           expires_at=now + REFRESH_LIFETIME))
    claims = {"buyer": buyer.id, "session": device.id, "region": device.region,
              "exp": int((now + ACCESS_LIFETIME).timestamp()), "country": buyer.home_country,
              "language": buyer.language, "currency": buyer.currency, "company": buyer.company_id,
              "role": buyer.company_role, "nonce": new_secret()[:12]}  # two tokens of one second still differ
    return TokenPair(access_token=f"{ACCESS}.{device.region}.{_signer(router).dumps(claims)}",
                     refresh_token=f"{REFRESH}.{device.region}.{refresh_secret}",
                     expires_in=int(ACCESS_LIFETIME.total_seconds()),
                     refresh_expires_in=int(REFRESH_LIFETIME.total_seconds()),
                     buyer_id=device.buyer_id, region=device.region)


def _principal(claims: dict) -> BuyerPrincipal:
    return BuyerPrincipal(buyer_id=claims["buyer"], region=claims["region"], country=claims["country"],
                          language=claims["language"], currency=claims["currency"], company_id=claims["company"],
                          company_role=claims["role"], session_id=claims["session"])


def _signer(router: Router) -> URLSafeSerializer:
    """Signs with CPU_SECRET_KEY, accepts its fallbacks too (itsdangerous signs with the last)."""
    settings = router.settings
    return URLSafeSerializer([*settings.secret_key_fallbacks, settings.secret_key], salt=SIGNING_SALT)


def region_of_token(router: Router, token: str) -> str | None:
    """The region a buyer token (access or refresh) names, for routing; the secret is not looked at."""
    scheme, _, rest = token.partition(".")
    region = rest.partition(".")[0]
    return region if scheme in (ACCESS, REFRESH) and region in router.regions.regions else None


def _parsed(router: Router, token: str, scheme: str) -> tuple[str | None, str]:
    given, _, rest = token.partition(".")
    region, _, secret = rest.partition(".")
    if given != scheme or not secret or region not in router.regions.regions:
        return None, ""
    return region, secret


_caches: weakref.WeakKeyDictionary[Router, RecentPrincipals] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(router: Router) -> RecentPrincipals:
    """Checked access tokens of one application: signed part -> principal."""
    with _caches_lock:
        cache = _caches.get(router)
        if cache is None:
            cache = _caches[router] = RecentPrincipals(router.settings.principal_cache_seconds)
        return cache
