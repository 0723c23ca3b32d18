"""How many API keys and staff users one merchant may have (CPU_MAX_API_KEYS,
CPU_MAX_STAFF_USERS).

Without a ceiling, one merchant's script could fill a shard with keys or sign-in handles.
The check counts before writing, so two requests racing past the last free place may both
get it: the cap is a ceiling on abuse, not an exact count.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.errors import Conflict
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import ApiKey, StaffUser
from marketplace.regions.router import Router


def refuse_another_api_key(session: Session, *, merchant_id: str, cap: int) -> None:
    """Conflict (409) naming the limit when the merchant's active keys have reached it."""
    active = session.scalar(select(func.count()).select_from(ApiKey).where(
        ApiKey.merchant_id == merchant_id, ApiKey.revoked_at.is_(None)))
    if active >= cap:
        raise Conflict(f"This merchant has {active} active API keys, the most allowed ({cap}, CPU_MAX_API_KEYS); "
                       "revoke one first.", errors={"name": [f"at most {cap} active API keys"]})


def refuse_another_staff_user(*, router: Router, principal: Principal) -> None:
    """Conflict (409) naming the limit when the merchant's staff users have reached it."""
    cap = router.settings.max_staff_users
    with router.unit_of_work(principal.region, read_only=True) as uow:
        staff = uow.session.scalar(select(func.count()).select_from(StaffUser).where(
            StaffUser.merchant_id == principal.merchant_id))
    if staff >= cap:
        raise Conflict(f"This merchant has {staff} staff users, the most allowed ({cap}, CPU_MAX_STAFF_USERS).",
                       errors={"email": [f"at most {cap} staff users"]})
