"""Refresh tokens under races, on real databases: of many refreshes sent at once with one
refresh token, exactly one gets a new pair, and the others are a second use, which revokes
the session (a copy is in someone else's hands)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from marketplace.buyers import accounts, tokens
from marketplace.merchants.auth import NotAuthenticated
from tests.support.buyers import PASSWORD


def test_concurrent_refreshes_with_one_token_spend_it_once_and_revoke_the_family(router):
    buyer = accounts.sign_up(router=router, email="race@buyers.example", password=PASSWORD, name="Race", home_country="TT")
    pair = tokens.start(router=router, buyer_id=buyer.id, region=buyer.region)

    def attempt(_):
        try:
            return tokens.refresh(router=router, refresh_token=pair.refresh_token)
        except NotAuthenticated:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(8)))
    winners = [answer for answer in answers if answer is not None]
    assert len(winners) == 1 and buyer.region == "pos"
    # the others were a second use: the winner's new tokens are revoked with the family
    with pytest.raises(NotAuthenticated):
        tokens.refresh(router=router, refresh_token=winners[0].refresh_token)
