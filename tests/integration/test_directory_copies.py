"""No global single point of failure (issue 10 item 6, docs/decisions/0004): three region
processes, each with its own shard, its own copy of the directory and its own nats-server
(kin's linked to sdq's and fdf's by leafnodes). A party registered in one region reaches the
others' copies through the `directory-copy` consumer; with fdf's directory and broker gone,
kin still routes, signs in and serves storefronts from its own copy; a sign-up whose name fdf
arbitrates is a 503 naming fdf, one whose arbiters answer succeeds; one name wanted in two
regions at once goes to one of them; and fdf, back, catches up on what it missed."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import ExitStack
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, delete, select, update

from marketplace import config
from marketplace.merchants import accounts, api_keys, arbiters, name_claims
from marketplace.merchants.auth import digest
from marketplace.regions.base import utcnow
from marketplace.regions.router import DIRECTORY, ForeignRegion
from marketplace.regions.models import DirectoryEntry, NameClaim, SignInHandle, StorefrontHandle
from tests.conftest import BACKENDS, make_app
from tests.support import databases
from tests.support.merchants import PASSWORD, registration
from tests.support.nats import NatsServer
from tests.support.processes import ROOT, Process

COUNTRY = {"kin": "JM", "sdq": "DO", "fdf": "MQ"}
REGIONS = tuple(COUNTRY)
_names = itertools.count()


class Region:
    """One data center: its app (CPU_REGION, CPU_DIRECTORY_COPY), databases and broker."""

    def __init__(self, root, code: str, broker: NatsServer, urls: dict[str, str], admin: str | None):
        self.code, self.broker, self.instance, self.admin = code, broker, root / f"instance-{code}", admin
        self.settings = {"CPU_INSTANCE_PATH": str(self.instance), "CPU_REGION": code, **urls}
        databases.migrate(self.settings)  # its shard and its own copy of the directory
        self.open()

    def open(self) -> None:
        self.app = make_app(self.settings, CPU_BROKER_URL=self.broker.url, CPU_DIRECTORY_COPY="true",
                            CPU_ARBITER_TIMEOUT="0.5", CPU_REGION_RETRY_AFTER="3")
        self.platform = self.app.extensions["cpu"]
        self.router = self.platform.router
        self.client = self.app.test_client()
        self.platform.answer_for_names()
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        arbiters.close(self.router)
        self.platform.broker.close()
        self.router.dispose()

    def take_away(self) -> None:
        """The data center is gone: its process, its broker, and its databases (moved away)."""
        self.close()
        self.broker.stop()
        self._move_databases(away=True)

    def bring_back(self) -> None:
        self._move_databases(away=False)
        self.broker.start()
        self.open()

    def _move_databases(self, *, away: bool) -> None:
        if self.admin is None:
            here, gone = self.instance, self.instance.with_name(f"gone-{self.code}")
            shutil.move(*((here, gone) if away else (gone, here)))
            return
        with psycopg.connect(self.admin, autocommit=True) as admin:
            for key in (f"CPU_DATABASE_URL_{self.code.upper()}", "CPU_DATABASE_URL_DIRECTORY"):
                name = self.settings[key].rsplit("/", 1)[1]
                old, new = (name, f"{name}_gone") if away else (f"{name}_gone", name)
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (old,))
                admin.execute(f'ALTER DATABASE "{old}" RENAME TO "{new}"')

    def sign_up(self, handle: str, email: str):
        body = registration(handle, COUNTRY[self.code]) | {"handle": handle, "email": email}
        return self.client.post("/api/v1/merchants", json=body)

    def pass_events(self) -> None:
        """One relay pass and one consumer pass of this region."""
        self.platform.relay().drain()
        self.platform.broker.consume_ready()

    def copy_has(self, party_id: str) -> bool:
        with self.router.directory(read_only=True) as uow:
            return uow.session.get(DirectoryEntry, party_id) is not None

    def routed_to(self, uri: str) -> str | None:
        response = self.client.get("/edge/route", headers={"X-Original-Method": "GET", "X-Original-URI": uri})
        return response.headers.get("X-CPU-Region")


@pytest.fixture(params=BACKENDS)
def regions(request, tmp_path):
    """Three data centers; on SQLite, files in an instance folder of each; on PostgreSQL, a
    shard and a directory database of each on the local server."""
    with ExitStack() as stack:
        urls, admin = {code: {} for code in REGIONS}, None
        if request.param == "postgres":
            admin = request.getfixturevalue("postgres_admin_url")
            for code in REGIONS:
                made = stack.enter_context(databases.postgres_databases(admin, names=(code, DIRECTORY)))
                urls[code] = {key: made[key] for key in (f"CPU_DATABASE_URL_{code.upper()}", "CPU_DATABASE_URL_DIRECTORY")}
        brokers = {"kin": NatsServer(tmp_path, "kin").start()}
        for code in ("sdq", "fdf"):
            brokers[code] = NatsServer(tmp_path, code, hub=brokers["kin"]).start()
        opened = {code: Region(tmp_path, code, brokers[code], urls[code], admin) for code in REGIONS}
        yield opened
        for region in opened.values():
            region.close()
        for broker in reversed(brokers.values()):
            broker.stop()


def names_for(handle_arbiter: str, email_arbiter: str, regions) -> tuple[str, str]:
    """A fresh handle and email whose arbiters are these regions."""
    codes, key = regions["kin"].router.regions.region_codes, regions["kin"].router.settings.email_lookup_key
    handle = next(h for h in (f"shop-{next(_names)}" for _ in range(10_000))
                  if arbiters.arbiter_of("handle", h, codes) == handle_arbiter)
    email = next(e for e in (f"owner{next(_names)}@{handle}.example" for _ in range(10_000))
                 if arbiters.arbiter_of("email", digest(key, e), codes) == email_arbiter)
    return handle, email


def until(condition, regions_to_pass, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the events did not arrive in time"
        for region in regions_to_pass:
            region.pass_events()


def test_each_region_routes_signs_in_and_serves_from_its_own_copy_while_another_is_gone(regions):
    kin, sdq, fdf = regions["kin"], regions["sdq"], regions["fdf"]
    # A Martinique merchant, its names decided by sdq: registered in fdf, known in kin once kin's consumer ran.
    handle, email = names_for("sdq", "sdq", regions)
    opened = fdf.sign_up(handle, email)
    assert opened.status_code == 201, opened.get_json()
    martinique = opened.get_json()["id"]
    assert fdf.routed_to(f"/s/{handle}") == "fdf"  # its own region knows at once
    assert not kin.copy_has(martinique)
    owner = accounts.sign_in(router=fdf.router, email=email, password=PASSWORD)
    key, token = api_keys.create(router=fdf.router, principal=owner, name="till")
    _, colleague_email = names_for("sdq", "sdq", regions)
    colleague = accounts.add_staff(router=fdf.router, principal=owner, email=colleague_email, password=PASSWORD)
    until(lambda: all(kin.copy_has(party) for party in (martinique, key.id, colleague.id)), [fdf, kin])
    # Kingston's own merchant, for contrast.
    own_handle, own_email = names_for("kin", "kin", regions)
    assert kin.sign_up(own_handle, own_email).status_code == 201

    fdf.take_away()  # Fort-de-France is gone: its broker stopped, its databases and process no more

    assert kin.routed_to(f"/api/v1/merchants/{martinique}") == "fdf"
    api_call = kin.client.get("/edge/route", headers={
        "X-Original-Method": "GET", "X-Original-URI": "/api/v1/merchant/settings", "Authorization": f"Bearer {token}"})
    assert api_call.headers.get("X-CPU-Region") == "fdf"
    assert kin.routed_to(f"/s/{handle}") == "fdf"
    storefront = kin.client.get(f"/s/{handle}")
    assert storefront.status_code == 421 and storefront.headers["X-CPU-Region"] == "fdf"  # the edge sends it there
    for staff_email in (email, colleague_email):
        with pytest.raises(ForeignRegion) as signing_in:  # kin's copy knows where the staff user signs in
            accounts.sign_in(router=kin.router, email=staff_email, password=PASSWORD)
        assert signing_in.value.region == "fdf"
    assert kin.client.get(f"/s/{own_handle}").status_code == 200
    assert accounts.sign_in(router=kin.router, email=own_email, password=PASSWORD).region == "kin"

    # A sign-up whose handle fdf decides: 503 naming fdf, at once; one whose arbiters answer: opened.
    handle_of_fdf, email_of_kin = names_for("fdf", "kin", regions)
    started = time.monotonic()
    refused = kin.sign_up(handle_of_fdf, email_of_kin)
    assert time.monotonic() - started < 3.0  # the whole sign-up, password hash included, on a busy machine
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["region"] == "fdf" and int(refused.headers["Retry-After"]) >= 1
    with kin.router.directory(read_only=True) as uow:  # nothing left taken in kin's copy
        assert uow.session.scalars(select(NameClaim)).all() == []
    handle_of_sdq, email_of_sdq = names_for("sdq", "sdq", regions)
    later = kin.sign_up(handle_of_sdq, email_of_sdq)
    assert later.status_code == 201, later.get_json()
    jamaica = later.get_json()["id"]
    kin.pass_events()

    fdf.bring_back()  # Fort-de-France returns: what was published meanwhile reaches its copy
    until(lambda: fdf.copy_has(jamaica), [kin, fdf], seconds=60)
    assert fdf.routed_to(f"/s/{handle_of_sdq}") == "kin"
    assert fdf.routed_to(f"/s/{own_handle}") == "kin"
    # and the handle it decides, refused while it was away, can be had now
    assert kin.sign_up(handle_of_fdf, email_of_kin).status_code == 201


def test_one_handle_wanted_in_two_regions_at_once_goes_to_one_of_them(regions):
    kin, sdq, fdf = regions["kin"], regions["sdq"], regions["fdf"]
    for arbiter in ("fdf", "kin"):  # decided by a third region, then by one of the two
        handle, _ = names_for(arbiter, "kin", regions)
        _, kin_email = names_for("kin", "kin", regions)
        _, sdq_email = names_for("kin", "sdq", regions)
        start, answers = threading.Barrier(2), {}

        def sign_up(region, email):
            start.wait()
            answers[region.code] = region.sign_up(handle, email)

        threads = [threading.Thread(target=sign_up, args=(kin, kin_email)),
                   threading.Thread(target=sign_up, args=(sdq, sdq_email))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [201, 409], {code: answer.get_json() for code, answer in answers.items()}
        [winner] = [code for code, answer in answers.items() if answer.status_code == 201]
        merchant_id = answers[winner].get_json()["id"]
        until(lambda: all(r.copy_has(merchant_id) for r in regions.values()), list(regions.values()))
        for region in regions.values():
            with region.router.directory(read_only=True) as uow:
                assert uow.session.get(StorefrontHandle, handle).merchant_id == merchant_id
                assert uow.session.scalars(select(NameClaim)).all() == []  # settled everywhere
        loser = "sdq" if winner == "kin" else "kin"
        with regions[loser].router.directory(read_only=True) as uow:  # the loser's email stayed free
            assert uow.session.get(SignInHandle, digest(kin.router.settings.email_lookup_key,
                                                        kin_email if loser == "kin" else sdq_email)) is None


class Died(BaseException):
    """The process ended here (no handler of ours catches it, no cleanup runs)."""


def die(*_args, **_kwargs):
    raise Died()


def expire_claims(region: Region) -> None:
    """As if the claims' leases had run out."""
    with region.router.directory() as uow:
        uow.session.execute(update(NameClaim).values(expires_at=utcnow() - timedelta(minutes=1)))
        uow.commit()


def pending_in(region: Region) -> list[tuple[str, str]]:
    with region.router.directory(read_only=True) as uow:
        return sorted((c.kind, c.name) for c in uow.session.scalars(select(NameClaim)))


def test_a_sign_up_that_died_is_settled_at_the_arbiter_by_its_home_regions_sweep_or_its_pointer_event(
        regions, monkeypatch):
    kin, sdq = regions["kin"], regions["sdq"]
    handle, email = names_for("sdq", "sdq", regions)
    _, other_email = names_for("sdq", "sdq", regions)

    with monkeypatch.context() as patched:  # kin dies after sdq granted the names, before writing the account
        patched.setattr(name_claims, "write_claimed", die)
        with pytest.raises(Died):
            accounts.sign_up(router=kin.router, trading_name="Ackee Tins", legal_name="Ackee Tins Ltd",
                             home_country="JM", email=email, password=PASSWORD, handle=handle)
    assert len(pending_in(sdq)) == 2 and len(pending_in(kin)) == 2  # held at the arbiter, mirrored at home
    refused = sdq.sign_up(handle, other_email)
    assert refused.status_code == 409 and refused.get_json()["errors"]["handle"] == [name_claims.NOT_FINISHED]
    expire_claims(kin)
    swept = kin.app.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"])
    assert swept.exit_code == 0 and "released 2" in swept.output, swept.output
    assert pending_in(sdq) == [] and pending_in(kin) == []
    assert sdq.sign_up(handle, other_email).status_code == 201  # the name is free again

    # The account is written but its confirmation never reaches the arbiter: its pointer event settles it there.
    handle, email = names_for("sdq", "kin", regions)
    with monkeypatch.context() as patched:
        patched.setattr(name_claims, "_tell_arbiters", lambda *args: None)
        opened = kin.sign_up(handle, email)
    assert opened.status_code == 201
    assert pending_in(sdq) == [("handle", handle)] and pending_in(kin) == []
    until(lambda: pending_in(sdq) == [], [kin, sdq])
    with sdq.router.directory(read_only=True) as uow:
        assert uow.session.get(StorefrontHandle, handle).merchant_id == opened.get_json()["id"]


def test_a_frozen_arbiter_costs_its_deadline_and_what_it_may_have_taken_is_given_back_after(regions):
    kin, fdf = regions["kin"], regions["fdf"]
    handle, email = names_for("fdf", "kin", regions)
    fdf.broker.process.send_signal(signal.SIGSTOP)  # frozen: the link stays up, nothing answers
    try:
        started = time.monotonic()
        refused = kin.sign_up(handle, email)
        waited = time.monotonic() - started
    finally:
        fdf.broker.process.send_signal(signal.SIGCONT)
    assert refused.status_code == 503 and refused.get_json()["region"] == "fdf"
    assert 0.5 <= waited < 4.0  # the question's deadline and the release's (0.5 s each), the password hash, a busy machine
    assert pending_in(kin) == []  # given back here at once, and a release sent to fdf
    # Thawed, fdf answers what it was sent, claim and release in whatever order; a claim it took
    # after kin gave up is freed by its sweep once the lease ran out: kin has neither mirror nor row.
    # fdf answers again; the claim it was sent while frozen was handled before this one's
    assert kin.sign_up(*names_for("fdf", "kin", regions)).status_code == 201
    expire_claims(fdf)
    swept = fdf.app.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert pending_in(fdf) == []
    assert kin.sign_up(handle, email).status_code == 201  # the name was not lost


def test_an_arbiters_sweep_frees_a_name_whose_release_never_reached_it_by_asking_the_holders_region(
        regions, monkeypatch):
    kin, fdf = regions["kin"], regions["fdf"]
    handle, email = names_for("fdf", "fdf", regions)
    with monkeypatch.context() as patched:
        patched.setattr(name_claims, "write_claimed", die)
        with pytest.raises(Died):
            accounts.sign_up(router=kin.router, trading_name="Bammy Bakers", legal_name="Bammy Bakers Ltd",
                             home_country="JM", email=email, password=PASSWORD, handle=handle)
    with kin.router.directory() as uow:  # kin gave the names up; its word was lost on the way
        uow.session.execute(delete(NameClaim))
        uow.commit()
    assert len(pending_in(fdf)) == 2
    assert "still pending 2" in fdf.app.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"]).output  # lease runs
    expire_claims(fdf)
    swept = fdf.app.test_cli_runner().invoke(args=["cpu", "accounts", "sweep"])
    assert swept.exit_code == 0 and "released 2" in swept.output, swept.output
    assert pending_in(fdf) == []
    assert kin.sign_up(handle, email).status_code == 201


def test_a_retry_with_the_same_key_finishes_a_sign_up_that_died_holding_names_at_two_arbiters(regions, monkeypatch):
    kin, sdq, fdf = regions["kin"], regions["sdq"], regions["fdf"]
    handle, email = names_for("sdq", "fdf", regions)
    body = registration(handle, "JM") | {"handle": handle, "email": email}
    retry = {"Idempotency-Key": f"signup-{handle}"}
    with monkeypatch.context() as patched:
        patched.setattr(name_claims, "write_claimed", die)
        with pytest.raises(Died):
            kin.client.post("/api/v1/merchants", json=body, headers=retry)
    assert pending_in(sdq) == [("handle", handle)] and len(pending_in(fdf)) == 1
    waiting = kin.client.post("/api/v1/merchants", json=body, headers=retry)
    assert waiting.status_code == 409  # its lease still runs: the first request may yet finish
    expire_claims(kin)
    opened = kin.client.post("/api/v1/merchants", json=body, headers=retry)
    assert opened.status_code == 201, opened.get_json()
    assert kin.client.post("/api/v1/merchants", json=body, headers=retry).get_json()["id"] == opened.get_json()["id"]
    until(lambda: pending_in(sdq) == [] and pending_in(fdf) == [], [kin, sdq, fdf])
    with sdq.router.directory(read_only=True) as uow:
        assert uow.session.get(StorefrontHandle, handle).merchant_id == opened.get_json()["id"]


def test_cpu_events_consume_answers_for_its_regions_names_and_keeps_its_copy(regions, tmp_path):
    """The responder and the consumer in the process operators run for a region (here fdf's)."""
    kin, fdf = regions["kin"], regions["fdf"]
    fdf.close()  # only the command answers for fdf now
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_"))}, **fdf.settings,
           "PYTHONPATH": str(ROOT), "CPU_BROKER_URL": fdf.broker.url, "CPU_DIRECTORY_COPY": "true",
           "CPU_LOG_LEVEL": "WARNING"}
    command = Process([sys.executable, "-c", "from marketplace.cli import cpu; cpu()", "events", "consume"],
                      env=env, log=tmp_path / "consume-fdf.log")
    try:
        deadline, opened = time.monotonic() + 60, None
        while opened is None or opened.status_code != 201:  # 503 until the command has subscribed
            assert time.monotonic() < deadline, (opened.get_json() if opened else None, command.log.read_text()[-2000:])
            time.sleep(0.2)
            opened = kin.sign_up(*names_for("fdf", "fdf", regions))
        kingston = opened.get_json()["id"]
        kin.pass_events()  # on kin's stream; sourced into fdf's, where the command applies it
        deadline = time.monotonic() + 30
        while not _in_copy(fdf, kingston):
            assert time.monotonic() < deadline, command.log.read_text()[-2000:]
            time.sleep(0.2)
    finally:
        command.stop()


def _in_copy(region: Region, party_id: str) -> bool:
    """Read straight from the region's copy, as no process of it is open here."""
    url = config.load({**region.settings, "CPU_RELAY_IN_PROCESS": "false"}, environ={}).directory_url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(select(DirectoryEntry.party_id).where(DirectoryEntry.party_id == party_id))
            return found.first() is not None
    finally:
        engine.dispose()


def test_a_copy_made_after_its_parties_learns_them_when_their_region_announces_them(regions):
    kin, fdf = regions["kin"], regions["fdf"]
    opened = fdf.sign_up(*names_for("fdf", "fdf", regions))
    merchant, handle = opened.get_json()["id"], opened.get_json()["handle"]
    until(lambda: kin.copy_has(merchant), [fdf, kin])
    with kin.router.directory() as uow:  # kin's copy, made afresh
        for model in (DirectoryEntry, StorefrontHandle, SignInHandle):
            uow.session.execute(delete(model))
        uow.commit()
    kin.router.locations.forget()
    assert kin.routed_to(f"/s/{handle}") is None
    announced = fdf.app.test_cli_runner().invoke(args=["cpu", "accounts", "announce"])
    assert announced.exit_code == 0 and announced.output == "fdf 2 pointer(s) announced\n", announced.output
    until(lambda: kin.copy_has(merchant), [fdf, kin])
    assert kin.routed_to(f"/s/{handle}") == "fdf"
