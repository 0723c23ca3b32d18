"""A buyer sign-up (with its company) stopped at each point between the directory and the
home shard, as test_signup_crash_points does for merchants (the same crash maker): the buyer
can sign up again or finds the account, the email and company pointers only ever name rows
that exist, and no claim is left pending."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.buyers.models import Buyer, BuyerSignInHandle, Company
from marketplace.merchants.auth import digest
from marketplace.regions.models import DirectoryEntry, NameClaim
from tests.integration.test_signup_crash_points import Crash, Died, lease_runs_out, sweep
from tests.support.buyers import PASSWORD, sign_up_body

pytestmark = pytest.mark.storage

BODY = sign_up_body("Sorrel Buyer", "JM", company="Sorrel Hotels")


@pytest.fixture
def crash(monkeypatch, router):
    return Crash(monkeypatch, router)


def sign_up(client, key=None):
    return client.post("/api/v1/buyers", json=BODY, headers={"Idempotency-Key": key} if key else {})


def signs_in(client) -> bool:
    return client.post("/api/v1/buyer/tokens", json={"email": BODY["email"], "password": PASSWORD}).status_code == 200


def assert_pointers_name_rows(router):
    with router.unit_of_work("kin", read_only=True) as uow:
        buyers = {b.id: b.email for b in uow.session.scalars(select(Buyer))}
        firms = set(uow.session.scalars(select(Company.id)))
    with router.directory(read_only=True) as uow:
        entries = {e.party_id: e.kind for e in uow.session.scalars(select(DirectoryEntry)) if e.kind in ("buyer", "company")}
        handles = {h.email_digest: h.buyer_id for h in uow.session.scalars(select(BuyerSignInHandle))}
        claims = uow.session.scalars(select(NameClaim)).all()
    assert claims == []
    assert entries == {b: "buyer" for b in buyers} | {c: "company" for c in firms}
    assert handles == {digest(router.settings.email_lookup_key, email): b for b, email in buyers.items()}


@pytest.mark.parametrize("point", ["lost after commit", "directory lost after commit"])
def test_a_sign_up_whose_answer_was_lost_is_finished_by_its_retry(client, router, crash, point):
    with crash.at(point):
        first = sign_up(client, key="buyer-k1")
    assert first.status_code == 503
    again = sign_up(client, key="buyer-k1")
    assert again.status_code == 201, again.get_json()
    assert signs_in(client)
    assert_pointers_name_rows(router)


def test_a_committed_sign_up_that_died_can_sign_in_before_any_sweep(client, router, crash):
    with pytest.raises(Died), crash.at("after commit"):
        sign_up(client)
    assert signs_in(client)  # the sign-in confirms the email's claim; the sweep settles the company's
    sweep(client.application)
    assert_pointers_name_rows(router)
    assert sign_up(client).status_code == 409


def test_a_sign_up_that_died_after_claiming_frees_the_email_once_its_lease_runs_out(client, router, crash):
    with pytest.raises(Died), crash.at("after claim"):
        sign_up(client)
    early = sign_up(client)
    assert early.status_code == 409 and "not finished" in early.get_json()["errors"]["email"][0]
    assert not signs_in(client)
    lease_runs_out(router)
    assert sign_up(client).status_code == 201
    assert signs_in(client)
    sweep(client.application)
    assert_pointers_name_rows(router)
