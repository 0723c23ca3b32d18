"""Merchant sign-up, staff sign-in, password reset and settings."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.catalog import service as catalog
from marketplace.errors import Conflict, InvalidInput
from marketplace.mail.compose import compose
from marketplace.mail.gateways import MailGateway, MailNotSent
from marketplace.merchants.auth import (
    NotAuthenticated,
    Principal,
    burn_password_check,
    digest,
    hash_password,
    new_secret,
    password_matches,
    password_problems,
    sha256,
)
from marketplace.merchants import caps, name_claims, sessions
from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant, PasswordReset, StaffUser
from marketplace.money import is_currency
from marketplace.regions import idempotency, outbox
from marketplace.regions.base import utcnow
from marketplace.regions.ids import new_id
from marketplace.regions.models import NameClaim, RegistrationKey, SignInHandle, StorefrontHandle
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
LANGUAGES = ("en", "es", "fr", "nl")
HANDLE_SHAPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
RESET_LIFETIME = timedelta(hours=1)
MERCHANT_RENAMED = "merchant.renamed"


def sign_up(
    *, router: Router, trading_name: str, legal_name: str, home_country: str, email: str, password: str,
    handle: str, tax_id: str | None = None, languages: list[str] | None = None, currency: str | None = None,
    idempotency_key: str | None = None,
) -> Principal:
    """Open a merchant account with its owner; claims the handle and email marketplace-wide.

    With an idempotency key, a retry of the same sign-up answers the owner it opened instead
    of a 409 for the names it took. The key is claimed in the directory with the names, in one
    transaction, since the region follows from the request: the same key with another home
    country is still seen (a 409). The password is not part of the request's fingerprint, so
    no hash of it is kept beside the key. The names stay pending until the account is known to
    be on its shard (see name_claims), so a sign-up stopped at any point can be tried again."""
    country = router.regions.member(home_country)
    if country is not None:  # another data center's sign-up, or a region that is down: refused before any work
        router.admit(country.region)
    email = email.strip().lower()
    key = idempotency.checked_key(idempotency_key)
    request = idempotency.fingerprint({"trading_name": trading_name, "legal_name": legal_name, "home_country": home_country,
                                       "email": email, "handle": handle, "tax_id": tax_id, "languages": languages,
                                       "currency": currency})
    if (earlier := _earlier_sign_up(router, key, request)) is not None:
        return earlier
    problems = _account_problems(country, handle, languages, currency) | password_problems(password)
    if problems:
        raise InvalidInput("The account details are not valid.", errors=problems)
    region = country.region
    router.require_served(region)  # a 421 before any name is claimed: the home region's process opens it
    merchant_id, staff_id = new_id("mer"), new_id("stf")
    password_hash = hash_password(password)  # before claiming: the names stay pending no longer than needed
    names = [NameClaim(kind=name_claims.HANDLE, name=handle, holder_id=merchant_id, merchant_id=merchant_id, region=region),
             NameClaim(kind=name_claims.EMAIL, name=digest(router.settings.email_lookup_key, email), holder_id=staff_id,
                       merchant_id=merchant_id, region=region)]
    also = [RegistrationKey(key=key, fingerprint=request, merchant_id=merchant_id)] if key else []
    try:
        name_claims.claim(router, claims=names, also=also)
    except Conflict:  # a concurrent retry with this key may have claimed them first
        if (earlier := _earlier_sign_up(router, key, request)) is not None:
            return earlier
        raise

    def write_account(session) -> None:
        session.add(Merchant(
            id=merchant_id, region=region, name=trading_name, legal_name=legal_name, home_country=country.code,
            tax_id=tax_id, default_currency=currency or country.currency, languages=languages or list(country.languages[:1]),
            handle=handle,
        ))
        session.flush()
        session.add(StaffUser(id=staff_id, region=region, merchant_id=merchant_id, email=email,
                              password_hash=password_hash, role="owner"))
        outbox.publish(session, "merchant.registered", {"merchant_id": merchant_id, "region": region, "handle": handle})

    name_claims.write_claimed(router, claims=names, write=write_account)
    return Principal(merchant_id=merchant_id, region=region, staff_id=staff_id, role="owner")


def sign_in(*, router: Router, email: str, password: str) -> Principal:
    email = email.strip().lower()
    region, staff_id = _sign_in_pointer(router, digest(router.settings.email_lookup_key, email))
    if region is None:
        burn_password_check(password)
        raise NotAuthenticated("The email or password is not right.")
    with router.unit_of_work(region, read_only=True) as uow:
        staff = uow.session.get(StaffUser, staff_id)
    if staff is None or not password_matches(staff.password_hash, password):
        raise NotAuthenticated("The email or password is not right.")
    return Principal(merchant_id=staff.merchant_id, region=region, staff_id=staff.id, role=staff.role)


def request_password_reset(*, router: Router, mail: MailGateway, email: str, link_base: str) -> None:
    """Mail a single-use link valid for an hour, in the merchant's default language. Says
    nothing about whether the email exists, nor whether the mail went out: a failure is logged (never the link) and the answer stays
    the same, so the page cannot be used to find out which emails have accounts."""
    email = email.strip().lower()
    with router.directory(read_only=True) as uow:
        handle = uow.session.get(SignInHandle, digest(router.settings.email_lookup_key, email))
        region, staff_id = (handle.region, handle.staff_id) if handle else (None, None)
    if region is None:
        return
    token = new_secret()
    with router.unit_of_work(region) as uow:
        staff = uow.session.get(StaffUser, staff_id)
        if staff is None:  # the directory knows a staff user its shard lost: nobody to mail
            return
        address, language = staff.email, uow.session.get(Merchant, staff.merchant_id).default_language
        uow.session.add(PasswordReset(token_digest=sha256(token), region=region, staff_id=staff_id,
                                      expires_at=utcnow() + RESET_LIFETIME))
        uow.commit()
    log.info("password reset requested for %s", staff_id, extra={"staff_id": staff_id})
    message = compose("password_reset", to=address, language=language, link=f"{link_base}{staff_id}.{token}")
    try:
        mail.send(message)
    except MailNotSent as exc:
        log.warning("password reset mail for %s not sent: %s", staff_id, exc, extra={"staff_id": staff_id})


def reset_password(*, router: Router, token: str, password: str) -> None:
    invalid = InvalidInput("This reset link is not valid or has expired.", errors={"token": ["invalid or expired"]})
    staff_id, _, secret = token.partition(".")
    region = router.region_of(staff_id) if staff_id.startswith("stf_") and secret else None
    if region is None:
        raise invalid
    problems = password_problems(password)
    if problems:
        raise InvalidInput("The new password is not valid.", errors=problems)
    with router.unit_of_work(region) as uow:
        reset = uow.session.get(PasswordReset, sha256(secret))
        if reset is None or reset.staff_id != staff_id or reset.used_at is not None or reset.expires_at < utcnow():
            raise invalid
        reset.used_at = utcnow()
        uow.session.get(StaffUser, staff_id).password_hash = hash_password(password)
        sessions.revoke_all(uow.session, router=router, staff_id=staff_id)  # a stolen session must not outlive the old password
        uow.commit()


def add_staff(*, router: Router, principal: Principal, email: str, password: str, role: str = "staff") -> StaffUser:
    """An owner adds a colleague who signs in with their own email and password."""
    principal.require_owner("add staff")
    caps.refuse_another_staff_user(router=router, principal=principal)
    email = email.strip().lower()
    problems = password_problems(password)
    if role not in ("owner", "staff"):
        problems["role"] = ["owner or staff"]
    if problems:
        raise InvalidInput("The staff details are not valid.", errors=problems)
    staff = StaffUser(id=new_id("stf"), region=principal.region, merchant_id=principal.merchant_id, email=email,
                      password_hash=hash_password(password), role=role)
    names = [NameClaim(kind=name_claims.EMAIL, name=digest(router.settings.email_lookup_key, email), holder_id=staff.id,
                       merchant_id=principal.merchant_id, region=principal.region)]
    name_claims.claim(router, claims=names)
    name_claims.write_claimed(router, claims=names, write=lambda session: session.add(staff))
    return staff


def list_staff(*, router: Router, principal: Principal) -> list[StaffUser]:
    principal.require_owner("see the staff users")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(
            select(StaffUser).where(StaffUser.merchant_id == principal.merchant_id).order_by(StaffUser.created_at)
        ))


def get_merchant(*, router: Router, principal: Principal) -> Merchant:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
    if merchant is None:
        raise MerchantNotFound(principal.merchant_id)
    return merchant


def update_settings(*, router: Router, principal: Principal, changes: dict) -> Merchant:
    """Trading and legal name, tax number, default currency and languages."""
    principal.require_owner("change the account settings")
    country = router.regions.member(get_merchant(router=router, principal=principal).home_country)
    problems = _account_problems(country, None, changes.get("languages"), changes.get("default_currency"))
    if problems:
        raise InvalidInput("The settings are not valid.", errors=problems)
    with router.unit_of_work(principal.region) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
        renamed = "name" in changes and changes["name"] != merchant.name
        for name in ("name", "legal_name", "tax_id", "default_currency", "languages"):
            if name in changes:
                setattr(merchant, name, changes[name])
        if renamed:  # the trading name is on every product's search document
            catalog.revise_merchant_products(uow.session, merchant.id)
            outbox.publish(uow.session, MERCHANT_RENAMED, {"merchant_id": merchant.id})
        uow.commit()
    return merchant


def _account_problems(country, handle, languages, currency) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if country is None:
        problems["home_country"] = ["not a member state of the marketplace"]
    if handle is not None and not HANDLE_SHAPE.match(handle):
        problems["handle"] = ["3 to 40 lower-case letters, digits or hyphens, not starting or ending with a hyphen"]
    if languages is not None and (not languages or set(languages) - set(LANGUAGES)):
        problems["languages"] = [f"one or more of {', '.join(LANGUAGES)}"]
    if currency is not None and not is_currency(currency):
        problems["default_currency"] = [f"{currency!r} is not an ISO 4217 currency code"]
    return problems



def _earlier_sign_up(router: Router, key: str | None, request: str) -> Principal | None:
    """The owner an earlier sign-up with this key opened, or None (no key, a new one, or one
    whose sign-up never reached its shard). A sign-up that committed but did not confirm its
    names (its connection lost in COMMIT) is confirmed here, so the retry completes it."""
    if key is None:
        return None
    with router.directory(read_only=True) as uow:
        record = uow.session.get(RegistrationKey, key)
        if record is None:
            return None
        merchant_id, fingerprint = record.merchant_id, record.fingerprint
        pending = uow.session.scalars(select(NameClaim).where(NameClaim.merchant_id == merchant_id)).first()
    if fingerprint != request:
        raise Conflict("This Idempotency-Key was already used with a different request.")
    region = pending.region if pending else router.region_of(merchant_id)
    owner = None
    if region is not None:
        with router.unit_of_work(region, read_only=True) as uow:
            owner = uow.session.scalars(select(StaffUser).where(StaffUser.merchant_id == merchant_id,
                                                                StaffUser.role == "owner")
                                        .order_by(StaffUser.created_at).limit(1)).first()
    swept = name_claims.sweep(router=router, merchant_id=merchant_id) if pending else None
    if owner is None:
        if swept and swept.released:
            return None  # the first sign-up never reached its shard: this one opens the account
        raise Conflict("A sign-up with this Idempotency-Key is not finished; retry in a moment.")
    return Principal(merchant_id=merchant_id, region=region, staff_id=owner.id, role="owner")


def _sign_in_pointer(router: Router, email_digest: str) -> tuple[str | None, str | None]:
    """The region and id of the staff user who signs in with this email, or (None, None). An
    account that was committed but never confirmed its claims is confirmed here, so its
    users can sign in before any sweep."""
    with router.directory(read_only=True) as uow:
        handle = uow.session.get(SignInHandle, email_digest)
        pending = None if handle else uow.session.get(NameClaim, (name_claims.EMAIL, email_digest))
    if pending is not None:
        name_claims.sweep(router=router, merchant_id=pending.merchant_id)
        with router.directory(read_only=True) as uow:
            handle = uow.session.get(SignInHandle, email_digest)
    return (handle.region, handle.staff_id) if handle else (None, None)


def merchant_for_handle(*, router: Router, handle: str) -> Merchant:
    with router.directory(read_only=True) as uow:
        entry = uow.session.get(StorefrontHandle, handle)
        region, merchant_id = (entry.region, entry.merchant_id) if entry else (None, None)
    if region is None:
        raise MerchantNotFound(handle)
    with router.unit_of_work(region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, merchant_id)
    if merchant is None:
        raise MerchantNotFound(handle)
    return merchant
