"""Buyer sign-up and sign-in, the buyer's own profile, and password reset by mail.

The same pieces as merchant accounts: passwords hashed with Argon2 (merchants.auth), the
sign-in email unique marketplace-wide through the directory's crash-safe name claims
(merchants.name_claims, kind BUYER_EMAIL, and a company's id as kind COMPANY), a sign-up's
Idempotency-Key kept in the directory with the claims, since its region follows from the
request. The home country decides the home region (the region map homes buyers from outside
the union too), and everything the buyer tells us stays on that region's shard."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from marketplace.buyers import tokens
from marketplace.buyers.errors import BuyerNotFound
from marketplace.buyers.identity import BuyerPrincipal
from marketplace.buyers.models import Buyer, BuyerPasswordReset, BuyerSignInHandle, Company
from marketplace.errors import Conflict, InvalidInput
from marketplace.mail.compose import compose
from marketplace.mail.gateways import MailGateway, MailNotSent
from marketplace.merchants import name_claims
from marketplace.merchants.accounts import LANGUAGES
from marketplace.merchants.auth import (
    NotAuthenticated, burn_password_check, digest, hash_password, new_secret, password_matches, password_problems,
    sha256,
)
from marketplace.money import is_currency
from marketplace.regions import idempotency
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.models import NameClaim, RegistrationKey
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
RESET_LIFETIME = timedelta(hours=1)
PROFILE_FIELDS = ("name", "language", "currency")


def sign_up(
    *, router: Router, email: str, password: str, name: str, home_country: str, language: str | None = None,
    currency: str | None = None, company: dict | None = None, idempotency_key: str | None = None,
) -> Buyer:
    """Open a buyer account in the home country's region; with `company` (name, tax
    registration number), a company too, with this buyer as its admin. A retry with the same
    Idempotency-Key answers the buyer it opened; the password is not part of the fingerprint."""
    email = email.strip().lower()
    home_country = home_country.strip().upper()
    key = idempotency.checked_key(idempotency_key)
    request = idempotency.fingerprint({"email": email, "name": name, "home_country": home_country,
                                       "language": language, "currency": currency, "company": company})
    if (earlier := _earlier_sign_up(router, key, request)) is not None:
        return earlier
    problems = profile_problems(language=language, currency=currency) | password_problems(password)
    try:
        region = router.regions.home_region(home_country).code
    except KeyError:
        problems["home_country"] = ["an ISO 3166-1 alpha-2 country code"]
    if problems:
        raise InvalidInput("The account details are not valid.", errors=problems)
    language, currency = _defaults(router, home_country, language, currency)
    buyer = Buyer(id=new_id("buy"), region=region, email=email, password_hash=hash_password(password), name=name,
                  home_country=home_country, language=language, currency=currency)
    rows: list[object] = []
    if company is not None:
        firm = Company(id=new_id("cmp"), region=region, country=home_country, name=company["name"],
                       tax_registration_number=company["tax_registration_number"])
        buyer.company_id, buyer.company_role = firm.id, "admin"
        rows.append(firm)
    rows.append(buyer)
    names = email_claims(router, buyer) + [
        NameClaim(kind=name_claims.COMPANY, name=row.id, holder_id=row.id, merchant_id=buyer.id, region=region)
        for row in rows if isinstance(row, Company)]
    also = [RegistrationKey(key=_scoped(key), fingerprint=request, merchant_id=buyer.id)] if key else []
    try:
        name_claims.claim(router, claims=names, also=also)
    except Conflict:  # a concurrent retry with this key may have claimed them first
        if (earlier := _earlier_sign_up(router, key, request)) is not None:
            return earlier
        raise

    def write(session) -> None:
        for row in rows:
            session.add(row)
            session.flush()

    name_claims.write_claimed(router, claims=names, write=write)
    return buyer


def email_claims(router: Router, buyer: Buyer) -> list[NameClaim]:
    """The claim of a buyer's sign-in email (its keyed digest), settled with the buyer's row."""
    return [NameClaim(kind=name_claims.BUYER_EMAIL, name=digest(router.settings.email_lookup_key, buyer.email),
                      holder_id=buyer.id, merchant_id=buyer.id, region=buyer.region)]


def sign_in(*, router: Router, email: str, password: str) -> tokens.TokenPair:
    """Tokens for a new device session, or NotAuthenticated (401) saying nothing of which was wrong."""
    refused = NotAuthenticated("The email or password is not right.")
    region, buyer_id = _sign_in_pointer(router, digest(router.settings.email_lookup_key, email.strip().lower()))
    if region is None:
        burn_password_check(password)
        raise refused
    with router.unit_of_work(region, read_only=True) as uow:
        buyer = uow.session.get(Buyer, buyer_id)
    if buyer is None or not password_matches(buyer.password_hash, password):
        raise refused
    return tokens.start(router=router, buyer_id=buyer.id, region=region)


def get_profile(*, router: Router, principal: BuyerPrincipal) -> Buyer:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        buyer = uow.session.get(Buyer, principal.buyer_id)
    if buyer is None:
        raise BuyerNotFound("such buyer")
    return buyer


def update_profile(*, router: Router, principal: BuyerPrincipal, changes: dict) -> Buyer:
    """Name, language and display currency. The home country is not changed here: it decides
    where the buyer's data lives, and moving it is a relocation."""
    problems = profile_problems(language=changes.get("language"), currency=changes.get("currency"))
    if problems:
        raise InvalidInput("The profile is not valid.", errors=problems)
    with router.unit_of_work(principal.region) as uow:
        buyer = uow.session.get(Buyer, principal.buyer_id)
        for name in PROFILE_FIELDS:
            if name in changes:
                setattr(buyer, name, changes[name])
        uow.commit()
    tokens.forget(router, buyer_id=buyer.id)  # the principal carries language and currency
    return buyer


def request_password_reset(*, router: Router, mail: MailGateway, email: str, link_base: str) -> None:
    """Mail a single-use link valid for an hour, in the buyer's language. Says nothing about
    whether the email has an account, nor whether the mail went out (a failure is logged,
    never the link)."""
    region, buyer_id = _sign_in_pointer(router, digest(router.settings.email_lookup_key, email.strip().lower()))
    if region is None:
        return
    secret = new_secret()
    with router.unit_of_work(region) as uow:
        buyer = uow.session.get(Buyer, buyer_id)
        if buyer is None:
            return
        address, language = buyer.email, buyer.language
        uow.session.add(BuyerPasswordReset(token_digest=sha256(secret), region=region, buyer_id=buyer_id,
                                           expires_at=utcnow() + RESET_LIFETIME))
        uow.commit()
    log.info("password reset requested for %s", buyer_id, extra={"buyer_id": buyer_id})
    message = compose("buyer_password_reset", to=address, language=language, link=f"{link_base}{buyer_id}.{secret}")
    try:
        mail.send(message)
    except MailNotSent as exc:
        log.warning("password reset mail for %s not sent: %s", buyer_id, exc, extra={"buyer_id": buyer_id})


def reset_password(*, router: Router, token: str, password: str) -> None:
    """Choose a new password with a reset link's token; every device is signed out."""
    invalid = InvalidInput("This reset link is not valid or has expired.", errors={"token": ["invalid or expired"]})
    buyer_id, _, secret = token.partition(".")
    region = router.region_of(buyer_id) if is_id(buyer_id, "buy") and secret else None
    if region is None:
        raise invalid
    problems = password_problems(password)
    if problems:
        raise InvalidInput("The new password is not valid.", errors=problems)
    with router.unit_of_work(region) as uow:
        reset = uow.session.get(BuyerPasswordReset, sha256(secret))
        if reset is None or reset.buyer_id != buyer_id or reset.used_at is not None or reset.expires_at < utcnow():
            raise invalid
        reset.used_at = utcnow()
        uow.session.get(Buyer, buyer_id).password_hash = hash_password(password)
        tokens.revoke_all(uow.session, router=router, buyer_id=buyer_id, why="password reset")
        uow.commit()


def profile_problems(*, language: str | None, currency: str | None) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if language is not None and language not in LANGUAGES:
        problems["language"] = [f"one of {', '.join(LANGUAGES)}"]
    if currency is not None and not is_currency(currency):
        problems["currency"] = [f"{currency!r} is not an ISO 4217 currency code"]
    return problems



def _defaults(router: Router, country: str, language: str | None, currency: str | None) -> tuple[str, str]:
    """A member state's own currency and first language; else English and US dollars."""
    member = router.regions.member(country)
    languages = [code for code in (member.languages if member else ()) if code in LANGUAGES]
    return language or (languages[0] if languages else "en"), currency or (member.currency if member else "USD")


def _scoped(key: str) -> str:
    """A buyer sign-up's key, apart from merchant registrations' keys in the same table."""
    return sha256(f"buyer-sign-up:{key}")


def _earlier_sign_up(router: Router, key: str | None, request: str) -> Buyer | None:
    """The buyer an earlier sign-up with this key opened, or None (no key, a new one, or one
    whose sign-up never reached its shard); as merchants.accounts._earlier_sign_up."""
    if key is None:
        return None
    with router.directory(read_only=True) as uow:
        record = uow.session.get(RegistrationKey, _scoped(key))
        if record is None:
            return None
        buyer_id, fingerprint = record.merchant_id, record.fingerprint
        pending = uow.session.scalars(select(NameClaim).where(NameClaim.merchant_id == buyer_id)).first()
    if fingerprint != request:
        raise Conflict("This Idempotency-Key was already used with a different request.")
    region = pending.region if pending else router.region_of(buyer_id)
    buyer = None
    if region is not None:
        with router.unit_of_work(region, read_only=True) as uow:
            buyer = uow.session.get(Buyer, buyer_id)
    swept = name_claims.sweep(router=router, merchant_id=buyer_id) if pending else None
    if buyer is None:
        if swept and swept.released:
            return None
        raise Conflict("A sign-up with this Idempotency-Key is not finished; retry in a moment.")
    return buyer


def _sign_in_pointer(router: Router, email_digest: str) -> tuple[str | None, str | None]:
    """The region and id of the buyer who signs in with this email, or (None, None); a
    committed sign-up whose claim was never confirmed is confirmed here first."""
    with router.directory(read_only=True) as uow:
        handle = uow.session.get(BuyerSignInHandle, email_digest)
        pending = None if handle else uow.session.get(NameClaim, (name_claims.BUYER_EMAIL, email_digest))
    if pending is not None:
        name_claims.sweep(router=router, merchant_id=pending.merchant_id)
        with router.directory(read_only=True) as uow:
            handle = uow.session.get(BuyerSignInHandle, email_digest)
    return (handle.region, handle.buyer_id) if handle else (None, None)
