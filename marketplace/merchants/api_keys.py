"""Merchant API keys: shown once, stored as a digest, named, revocable, last use recorded.

A key reads `cpu.<key id>.<secret>`: the id finds the region through the directory, the
secret is compared with the stored digest in constant time.

A key acts with the role of the staff user who made it, never more: only owners make keys,
so an owner's key is an owner key, and a key made by an owner key is one too. If its maker
is later a staff user no longer an owner, the key acts as staff. Each key records its maker
(a staff user, or another key), so an owner sees what a leaked key left behind.

Keys are checked on every API request, so the principal a key stands for is kept in the
process for `CPU_PRINCIPAL_CACHE_SECONDS` (see recent_principals): a key revoked here is
refused at once, one revoked by another process within those seconds.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import select, update

from marketplace.errors import NotFound
from marketplace.merchants import caps, recent_principals
from marketplace.merchants.auth import NotAuthenticated, Principal, new_secret, sha256
from marketplace.merchants.models import ApiKey, StaffUser
from marketplace.regions import pointers
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.router import Router

LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per key per minute


def create(*, router: Router, principal: Principal, name: str) -> tuple[ApiKey, str]:
    """A new key with the maker's role; the returned token is the only time the secret is seen."""
    principal.require_owner("make API keys")
    key_id, secret = new_id("key"), new_secret()
    router.assign(key_id, kind="api_key", region=principal.region)
    try:
        with router.unit_of_work(principal.region) as uow:
            caps.refuse_another_api_key(uow.session, merchant_id=principal.merchant_id, cap=router.settings.max_api_keys)
            key = ApiKey(id=key_id, region=principal.region, merchant_id=principal.merchant_id, name=name,
                         secret_digest=sha256(secret), role=principal.role,
                         created_by_staff_id=principal.staff_id, created_by_key_id=principal.api_key_id)
            uow.session.add(key)
            pointers.publish(uow.session, pointers.pointer(party_id=key_id, kind="api_key", region=principal.region))
            uow.commit()
    except Exception:
        router.release(key_id)
        raise
    return key, f"cpu.{key_id}.{secret}"


def list_(*, router: Router, principal: Principal) -> list[ApiKey]:
    """Every key of the merchant, revoked ones too, with who made each."""
    principal.require_owner("see the API keys")
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(
            select(ApiKey).where(ApiKey.merchant_id == principal.merchant_id).order_by(ApiKey.created_at)
        ))


def revoke(*, router: Router, principal: Principal, key_id: str) -> ApiKey:
    """Refuse the key from now on: at once in this process, within the cache's seconds elsewhere."""
    principal.require_owner("revoke API keys")
    with router.unit_of_work(principal.region) as uow:
        key = uow.session.get(ApiKey, key_id)
        if key is None or key.merchant_id != principal.merchant_id:
            raise NotFound(f"No API key {key_id}.")
        key.revoked_at = key.revoked_at or utcnow()
        uow.commit()
    recent_principals.of(router).drop_where(lambda _key, cached: cached.api_key_id == key_id)
    return key


def authenticate(*, router: Router, token: str) -> Principal:
    """The principal of a token, or NotAuthenticated; from the cache when it is fresh there."""
    refused = NotAuthenticated("The API key is not valid.")
    scheme, _, rest = token.partition(".")
    key_id, _, secret = rest.partition(".")
    if scheme != "cpu" or not is_id(key_id, "key") or not secret:
        raise refused
    secret_digest, cache = sha256(secret), recent_principals.of(router)
    cached = cache.get(f"{key_id}:{secret_digest}")
    if cached is not None:
        return cached
    region = router.region_of(key_id)
    if region is None:
        raise refused
    with router.unit_of_work(region, read_only=True) as uow:
        row = uow.session.execute(
            select(ApiKey, StaffUser.role).outerjoin(StaffUser, StaffUser.id == ApiKey.created_by_staff_id)
            .where(ApiKey.id == key_id)
        ).one_or_none()
    if row is None or row[0].revoked_at is not None or not hmac.compare_digest(row[0].secret_digest, secret_digest):
        raise refused
    key, maker_role = row
    _record_use(router, region, key)
    principal = Principal(merchant_id=key.merchant_id, region=region, api_key_id=key.id,
                          role="staff" if "staff" in (key.role, maker_role) else key.role)
    cache.put(f"{key_id}:{secret_digest}", principal)
    return principal


def _record_use(router: Router, region: str, key: ApiKey) -> None:
    """A write at most once a minute per key, not a writing transaction per request."""
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        with router.unit_of_work(region) as uow:
            uow.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
            uow.commit()
