"""The directory pointers of the parties this package keeps (merchants, their staff users,
API keys), announced again from their home shard: what fills a region's copy of the
directory with the parties that existed before it did (docs/decisions/0004).

Every new party's pointer is published when its row is written (name_claims.write_claimed,
api_keys.create). A copy that starts after some parties were made (a deployment switching
to CPU_DIRECTORY_COPY, a copy rebuilt from nothing) learns the earlier ones when their home
regions run `cpu accounts announce`: each party's pointer as it is now, in batches, each
batch one transaction on the shard's outbox. Applying a pointer twice changes nothing, so it
is safe to run again; later events of a party still come after it, in order per party.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.merchants.auth import digest
from marketplace.merchants.models import ApiKey, Merchant, StaffUser
from marketplace.regions import pointers
from marketplace.regions.router import Router

BATCH = 500


def announce_all(*, router: Router, region: str) -> int:
    """Publish the pointer of every merchant, staff user and API key homed in `region`; answers how many."""
    key = router.settings.email_lookup_key
    kinds = (
        (Merchant, lambda m: pointers.pointer(party_id=m.id, kind="merchant", region=region, handle=m.handle)),
        (StaffUser, lambda s: pointers.pointer(party_id=s.id, kind="staff", region=region,
                                               email_digest=digest(key, s.email), merchant_id=s.merchant_id)),
        (ApiKey, lambda k: pointers.pointer(party_id=k.id, kind="api_key", region=region)),
    )
    announced = 0
    for model, pointer_of in kinds:
        after = ""
        while True:
            with router.unit_of_work(region) as uow:
                rows = uow.session.scalars(select(model).where(model.id > after).order_by(model.id).limit(BATCH)).all()
                for row in rows:
                    pointers.publish(uow.session, pointer_of(row))
                uow.commit()
            announced += len(rows)
            if len(rows) < BATCH:
                break
            after = rows[-1].id
    return announced
