"""Drill finding (the hurricane drill, tests/topology): a sign-up for a region that is down took
1 to 3 s to get its 503, where every read took under 0.8 s. It hashed the password and claimed
its names in the directory (and released them) twice: first in the data center it entered,
which then found the region was another's (421), and again in the home region, which then found
its breaker open. A sign-up is now refused before any of that work: 421 at once in the wrong
data center, 503 at once while the home region's breaker is open, and within the deadline of
one `SELECT 1` when the home shard has just stopped answering (the breaker's probe included)."""

import time

from sqlalchemy import func, select

from marketplace.merchants import accounts
from marketplace.regions.models import NameClaim
from tests.integration.test_region_outage import outage  # noqa: F401  (a fixture)
from tests.support.merchants import registration


def _hashes_counted(monkeypatch) -> list[str]:
    hashed = []
    real = accounts.hash_password
    monkeypatch.setattr(accounts, "hash_password", lambda password: hashed.append(password) or real(password))
    return hashed


def _claims(router) -> int:
    with router.directory(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(NameClaim))


def test_a_sign_up_for_another_data_center_is_misdirected_before_any_work(kin_app, monkeypatch):
    hashed, router = _hashes_counted(monkeypatch), kin_app.extensions["cpu"].router
    response = kin_app.test_client().post("/api/v1/merchants", json=registration("Rhum Vieux Shop", "MQ"),
                                          headers={"Idempotency-Key": "signup-misdirected-1"})
    assert response.status_code == 421 and response.get_json()["region"] == "fdf"
    assert hashed == [] and _claims(router) == 0


def test_a_sign_up_for_a_region_whose_breaker_is_open_is_a_503_before_any_work(app, monkeypatch):
    hashed, router = _hashes_counted(monkeypatch), app.extensions["cpu"].router
    router.health.mark_down("bgi", "unreachable")
    try:
        response = app.test_client().post("/api/v1/merchants", json=registration("Flying Fish Cutters", "BB"))
    finally:
        router.health.mark_up("bgi")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["region"] == "bgi"
    assert hashed == [] and _claims(router) == 0
    again = app.test_client().post("/api/v1/merchants", json=registration("Flying Fish Cutters", "BB"))
    assert again.status_code == 201, again.get_json()


def test_a_sign_up_for_a_region_that_just_went_silent_fails_on_its_first_statement(outage, monkeypatch):
    app, proxy = outage  # kin's shard behind a proxy that goes silent
    client, router = app.test_client(), app.extensions["cpu"].router
    assert client.post("/api/v1/merchants", json=registration("Port Royal Spice", "JM")).status_code == 201
    claims_before, hashed = _claims(router), _hashes_counted(monkeypatch)
    proxy.freeze()
    try:
        started = time.monotonic()
        response = client.post("/api/v1/merchants", json=registration("Port Royal Pepper", "JM"))
        seconds = time.monotonic() - started
    finally:
        proxy.thaw()
    assert response.status_code == 503 and seconds < 1.0, (response.status_code, round(seconds, 2))
    assert hashed == [] and _claims(router) == claims_before
