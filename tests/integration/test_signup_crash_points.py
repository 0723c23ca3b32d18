"""Sign-up and adding staff stopped at each point between the directory and the home shard.

Each crash point is made by wrapping the router the services use. A lost connection is the
driver's error out of COMMIT, after the shard really committed or before it did. A process
that dies raises `Died`, a BaseException no handler of ours catches, and from then on every
database step the dead process would still take dies too: no cleanup runs, as after a kill.
Whatever the point, the user can sign up (or be added) again or finds the account, the
password reset page never fails, nothing is left pointing at nothing, no name is refused for
ever, and the sweep settles what is left.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy import exc as sa_exc

from marketplace.errors import Conflict, RegionUnavailable
from marketplace.merchants import accounts
from marketplace.merchants.auth import digest
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.regions.models import DirectoryEntry, NameClaim, RegistrationKey, SignInHandle, StorefrontHandle
from tests.support.merchants import PASSWORD, registration

pytestmark = pytest.mark.storage

BODY = registration("Sorrel Syrup Co", "JM")  # homed in kin
COLLEAGUE = "packer@sorrel-syrup-co.example"


class Died(BaseException):
    """The process ended here."""


def lost_connection() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"),
                                   connection_invalidated=True)


def connection_lost_in_commit():
    raise lost_connection()


class Crash:
    """Stops the next sign-up or staff addition at one point:

    - "after claim": dies as it opens its shard to write the account;
    - "lost before commit": the shard's COMMIT loses its connection and did not commit;
    - "lost after commit": the shard committed, and the connection was lost before the answer;
    - "after commit": dies as soon as the shard's COMMIT returned;
    - "directory lost after commit": the shard committed, and the directory's COMMIT of the
      confirmation loses its connection (and did not commit).
    """

    def __init__(self, monkeypatch, router):
        self.monkeypatch, self.router = monkeypatch, router
        self.dead = self.directory_lost = False

    @contextmanager
    def at(self, point: str):
        real_unit_of_work, real_directory = self.router.unit_of_work, self.router.directory

        def unit_of_work(region, *, read_only=False):
            self._die_if_dead()
            uow = real_unit_of_work(region, read_only=read_only)
            if read_only:
                return uow
            if point == "after claim":
                self._die()
            real_commit = uow.commit

            def commit():
                if point in ("lost after commit", "after commit", "directory lost after commit"):
                    real_commit()
                if point == "after commit":
                    self._die()
                if point == "directory lost after commit":
                    self.directory_lost = True
                    return
                raise lost_connection()
            uow.commit = commit
            return uow

        def directory(*, read_only=False):
            self._die_if_dead()
            uow = real_directory(read_only=read_only)
            if self.directory_lost and not read_only:
                self.directory_lost = False
                uow.commit = connection_lost_in_commit
            return uow

        with self.monkeypatch.context() as patch:
            patch.setattr(self.router, "unit_of_work", unit_of_work)
            patch.setattr(self.router, "directory", directory)
            try:
                yield
            finally:
                self.dead = self.directory_lost = False

    def _die(self):
        self.dead = True
        raise Died()

    def _die_if_dead(self):
        if self.dead:
            raise Died()


@pytest.fixture
def crash(monkeypatch, router):
    return Crash(monkeypatch, router)


@pytest.fixture
def owner(router):
    return accounts.sign_up(router=router, trading_name=BODY["name"], legal_name=BODY["legal_name"], home_country="JM",
                            email=BODY["email"], password=PASSWORD, handle=BODY["handle"])


def sign_up(client, key=None):
    return client.post("/api/v1/merchants", json=BODY, headers={"Idempotency-Key": key} if key else {})


def add_colleague(router, owner):
    return accounts.add_staff(router=router, principal=owner, email=COLLEAGUE, password="packing all day")


def lease_runs_out(router):
    with router.directory() as uow:
        uow.session.execute(update(NameClaim).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
        uow.commit()


def sweep(app) -> str:
    result = app.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def asking_for_a_reset_looks_the_same_as_for_nobody(client, email):
    """The reset page answers an email whose account is half made as it answers an unknown one."""
    pages = []
    for address in (email, "nobody@nowhere.example"):
        form = client.get("/dashboard/reset").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = client.post("/dashboard/reset", data={"csrf_token": token, "email": address})
        assert response.status_code == 200, (address, response.status_code)
        pages.append(response.get_data(as_text=True).replace(address, "EMAIL"))
    assert pages[0] == pages[1]


def assert_nothing_points_at_nothing(router):
    """Every pointer names a row that exists, every merchant and staff user has its pointers,
    and no claim is left pending."""
    shard_merchants, shard_staff = {}, {}
    for region in router.regions.region_codes:
        with router.unit_of_work(region, read_only=True) as uow:
            shard_merchants |= {m.id: (region, m.handle) for m in uow.session.scalars(select(Merchant))}
            shard_staff |= {s.id: (region, s.email) for s in uow.session.scalars(select(StaffUser))}
    with router.directory(read_only=True) as uow:
        entries = {e.party_id: (e.kind, e.region) for e in uow.session.scalars(select(DirectoryEntry))}
        handles = {h.handle: (h.merchant_id, h.region) for h in uow.session.scalars(select(StorefrontHandle))}
        sign_ins = {s.email_digest: (s.staff_id, s.region) for s in uow.session.scalars(select(SignInHandle))}
        claims = uow.session.scalars(select(NameClaim)).all()
        keys = {k.merchant_id for k in uow.session.scalars(select(RegistrationKey))}
    key = router.settings.email_lookup_key
    assert claims == []
    assert {party: kind for party, (kind, _) in entries.items() if kind in ("merchant", "staff")} == (
        {m: "merchant" for m in shard_merchants} | {s: "staff" for s in shard_staff})
    assert all(entries[party][1] == region for party, (region, _) in (shard_merchants | shard_staff).items())
    assert handles == {handle: (m, region) for m, (region, handle) in shard_merchants.items()}
    assert sign_ins == {digest(key, email): (s, region) for s, (region, email) in shard_staff.items()}
    assert keys <= set(shard_merchants)


def merchants_named(router, name) -> int:
    with router.unit_of_work("kin", read_only=True) as uow:
        return len(uow.session.scalars(select(Merchant).where(Merchant.name == name)).all())


# Sign-up ---------------------------------------------------------------------------------------


def test_a_sign_up_that_died_after_claiming_its_names_frees_them_once_its_lease_runs_out(client, router, crash):
    with pytest.raises(Died), crash.at("after claim"):
        sign_up(client)
    asking_for_a_reset_looks_the_same_as_for_nobody(client, BODY["email"])

    early = sign_up(client)  # the first request might still be writing: not yet
    assert early.status_code == 409 and early.mimetype == "application/problem+json"
    assert set(early.get_json()["errors"]) == {"handle", "email"}
    assert "not finished" in early.get_json()["errors"]["email"][0]

    lease_runs_out(router)
    again = sign_up(client)
    assert again.status_code == 201, again.get_json()
    assert accounts.sign_in(router=router, email=BODY["email"], password=PASSWORD).merchant_id == again.get_json()["id"]
    assert_nothing_points_at_nothing(router)
    assert sweep(client.application) == "confirmed 0, released 0, still pending 0"


def test_a_sign_up_whose_commit_landed_but_lost_its_connection_keeps_its_account(client, router, crash):
    with crash.at("lost after commit"):
        lost = sign_up(client)
    assert lost.status_code == 503 and lost.mimetype == "application/problem+json"

    owner = accounts.sign_in(router=router, email=BODY["email"], password=PASSWORD)  # the account is there
    again = sign_up(client)
    assert again.status_code == 409 and again.get_json()["errors"] == {"handle": ["already taken"],
                                                                      "email": ["already registered"]}
    assert client.get(f"/api/v1/merchants/{owner.merchant_id}").status_code == 200
    assert merchants_named(router, BODY["name"]) == 1
    assert_nothing_points_at_nothing(router)


def test_a_retry_with_its_key_after_a_lost_commit_answers_the_account_it_opened(client, router, crash):
    with crash.at("lost after commit"):
        assert sign_up(client, key="signup-7").status_code == 503
    retry = sign_up(client, key="signup-7")
    assert retry.status_code == 201
    assert accounts.sign_in(router=router, email=BODY["email"], password=PASSWORD).merchant_id == retry.get_json()["id"]
    assert merchants_named(router, BODY["name"]) == 1
    assert_nothing_points_at_nothing(router)


def test_a_sign_up_whose_commit_never_landed_is_opened_by_a_retry_once_the_lease_runs_out(client, router, crash):
    with crash.at("lost before commit"):
        assert sign_up(client, key="signup-8").status_code == 503
    asking_for_a_reset_looks_the_same_as_for_nobody(client, BODY["email"])
    waiting = sign_up(client, key="signup-8")
    assert waiting.status_code == 409 and "not finished" in waiting.get_json()["detail"]

    lease_runs_out(router)
    retry = sign_up(client, key="signup-8")
    assert retry.status_code == 201
    assert sign_up(client, key="signup-8").get_json()["id"] == retry.get_json()["id"]
    assert merchants_named(router, BODY["name"]) == 1
    assert_nothing_points_at_nothing(router)


def test_a_sign_up_that_died_after_its_commit_is_found_by_its_owner(client, router, crash):
    with pytest.raises(Died), crash.at("after commit"):
        sign_up(client)
    asking_for_a_reset_looks_the_same_as_for_nobody(client, BODY["email"])  # not confirmed yet: as if unknown

    owner = accounts.sign_in(router=router, email=BODY["email"], password=PASSWORD)
    assert client.get(f"/api/v1/merchants/{owner.merchant_id}").get_json()["handle"] == BODY["handle"]
    assert sign_up(client).get_json()["errors"] == {"handle": ["already taken"], "email": ["already registered"]}
    assert client.get(f"/s/{BODY['handle']}").status_code == 200
    assert_nothing_points_at_nothing(router)


def test_a_sign_up_whose_names_could_not_be_confirmed_is_answered_by_a_retry_with_its_key(client, router, crash):
    with crash.at("directory lost after commit"):
        lost = sign_up(client, key="signup-6")
    assert lost.status_code == 503 and lost.get_json()["region"] == "directory"
    retry = sign_up(client, key="signup-6")
    assert retry.status_code == 201
    assert client.get(f"/s/{BODY['handle']}").status_code == 200
    assert merchants_named(router, BODY["name"]) == 1
    assert_nothing_points_at_nothing(router)


# Adding staff ----------------------------------------------------------------------------------


def test_adding_staff_that_died_after_claiming_the_email_can_be_done_again_once_the_lease_runs_out(router, owner, crash):
    with pytest.raises(Died), crash.at("after claim"):
        add_colleague(router, owner)
    with pytest.raises(Conflict) as early:
        add_colleague(router, owner)
    assert "not finished" in early.value.errors["email"][0]

    lease_runs_out(router)
    colleague = add_colleague(router, owner)
    assert accounts.sign_in(router=router, email=COLLEAGUE, password="packing all day").staff_id == colleague.id
    assert_nothing_points_at_nothing(router)


def test_adding_staff_whose_commit_landed_but_lost_its_connection_keeps_the_colleague(client, router, owner, crash):
    with crash.at("lost after commit"), pytest.raises(RegionUnavailable):
        add_colleague(router, owner)
    assert [s.email for s in accounts.list_staff(router=router, principal=owner)] == [BODY["email"], COLLEAGUE]
    assert accounts.sign_in(router=router, email=COLLEAGUE, password="packing all day").merchant_id == owner.merchant_id
    with pytest.raises(Conflict) as again:
        add_colleague(router, owner)
    assert again.value.errors == {"email": ["already registered"]}
    assert_nothing_points_at_nothing(router)


def test_adding_staff_whose_commit_never_landed_can_be_done_again_once_the_lease_runs_out(client, router, owner, crash):
    with crash.at("lost before commit"), pytest.raises(RegionUnavailable):
        add_colleague(router, owner)
    asking_for_a_reset_looks_the_same_as_for_nobody(client, COLLEAGUE)
    lease_runs_out(router)
    add_colleague(router, owner)
    assert [s.email for s in accounts.list_staff(router=router, principal=owner)] == [BODY["email"], COLLEAGUE]
    assert_nothing_points_at_nothing(router)


def test_adding_staff_that_died_after_its_commit_is_settled_by_the_sweep(client, router, owner, crash):
    with pytest.raises(Died), crash.at("after commit"):
        add_colleague(router, owner)
    asking_for_a_reset_looks_the_same_as_for_nobody(client, COLLEAGUE)
    assert sweep(client.application) == "confirmed 1, released 0, still pending 0"
    assert accounts.sign_in(router=router, email=COLLEAGUE, password="packing all day").merchant_id == owner.merchant_id
    assert_nothing_points_at_nothing(router)


# The sweep -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("point", "settled"), [
    ("after claim", "confirmed 0, released 2"),
    ("lost after commit", "confirmed 2, released 0"),
    ("lost before commit", "confirmed 0, released 2"),
    ("after commit", "confirmed 2, released 0"),
    ("directory lost after commit", "confirmed 2, released 0"),
])
def test_the_sweep_settles_a_sign_up_stopped_at_any_point(client, router, crash, point, settled):
    with crash.at(point):
        try:
            sign_up(client, key="signup-9")
        except Died:
            pass
    lease_runs_out(router)
    assert sweep(client.application) == f"{settled}, still pending 0"
    assert sweep(client.application) == "confirmed 0, released 0, still pending 0"
    assert_nothing_points_at_nothing(router)
    assert sign_up(client, key="signup-9").status_code == 201  # the account it opened, or a new one


def test_the_sweep_leaves_a_claim_alone_while_its_lease_runs(client, router, crash):
    with pytest.raises(Died), crash.at("after claim"):
        sign_up(client)
    assert sweep(client.application) == "confirmed 0, released 0, still pending 2"
    assert sign_up(client).status_code == 409


def test_the_sweep_says_which_regions_it_could_not_reach(client, router, crash):
    with pytest.raises(Died), crash.at("after commit"):
        sign_up(client)
    router.health.mark_down("kin", "a hurricane")
    result = client.application.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"])
    assert result.exit_code == 1
    assert "confirmed 0, released 0, still pending 2" in result.output and "not reachable: kin" in result.output
