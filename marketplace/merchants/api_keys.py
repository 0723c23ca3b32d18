"""Merchant API keys: shown once, stored as a digest, named, revocable, last use recorded.

A key reads `cpu.<key id>.<secret>`: the id finds the region through the directory, the
secret is compared with the stored digest in constant time.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import select, update

from marketplace.errors import NotFound
from marketplace.merchants.auth import NotAuthenticated, Principal, new_secret, sha256
from marketplace.merchants.models import ApiKey
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.router import Router

LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per key per minute


def create(*, router: Router, principal: Principal, name: str) -> tuple[ApiKey, str]:
    """A new key; the returned token is the only time the secret is seen."""
    key_id, secret = new_id("key"), new_secret()
    router.assign(key_id, kind="api_key", region=principal.region)
    with router.unit_of_work(principal.region) as uow:
        key = ApiKey(id=key_id, region=principal.region, merchant_id=principal.merchant_id, name=name,
                     secret_digest=sha256(secret))
        uow.session.add(key)
        uow.commit()
    return key, f"cpu.{key_id}.{secret}"


def list_(*, router: Router, principal: Principal) -> list[ApiKey]:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(
            select(ApiKey).where(ApiKey.merchant_id == principal.merchant_id).order_by(ApiKey.created_at)
        ))


def revoke(*, router: Router, principal: Principal, key_id: str) -> ApiKey:
    with router.unit_of_work(principal.region) as uow:
        key = uow.session.get(ApiKey, key_id)
        if key is None or key.merchant_id != principal.merchant_id:
            raise NotFound(f"No API key {key_id}.")
        key.revoked_at = key.revoked_at or utcnow()
        uow.commit()
    return key


def authenticate(*, router: Router, token: str) -> Principal:
    refused = NotAuthenticated("The API key is not valid.")
    scheme, _, rest = token.partition(".")
    key_id, _, secret = rest.partition(".")
    if scheme != "cpu" or not is_id(key_id, "key") or not secret:
        raise refused
    region = router.region_of(key_id)
    if region is None:
        raise refused
    with router.unit_of_work(region, read_only=True) as uow:
        key = uow.session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.secret_digest, sha256(secret)):
        raise refused
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # A write at most once a minute per key, not a writing transaction per request.
        with router.unit_of_work(region) as uow:
            uow.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            uow.commit()
    return Principal(merchant_id=key.merchant_id, region=region, api_key_id=key.id)
