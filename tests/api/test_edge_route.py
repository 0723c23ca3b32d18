"""The edge's lookup (GET /edge/route): a region process names the home region of the party a
request is about from the directory's pointers alone, so the edge in Kingston can send a
Martinique merchant's request to Fort-de-France without Kingston opening fdf's shard."""

from __future__ import annotations

import pytest

from marketplace.edge import METHOD_HEADER, REGION_HEADER, URI_HEADER
from marketplace.merchants import accounts, api_keys
from marketplace.regions.router import DIRECTORY
from tests.support import databases
from tests.support.merchants import PASSWORD, open_account, registration


@pytest.fixture
def martinique(router):
    """A merchant homed in fdf and an API key of it, made by an all-regions process."""
    merchant = open_account(router, "Rhum Agricole", "MQ")
    owner = accounts.sign_in(router=router, email=registration("Rhum Agricole", "MQ")["email"], password=PASSWORD)
    return merchant, api_keys.create(router=router, principal=owner, name="edge")[1]


def route(app, uri: str, method: str = "GET", **headers: str):
    return app.test_client().get("/edge/route", headers={METHOD_HEADER: method, URI_HEADER: uri, **headers})


def test_kingston_names_fort_de_france_for_a_martinique_storefront_merchant_and_api_key(
        kin_app, martinique, database_config, opened):
    merchant, token = martinique
    for uri, headers in ((f"/s/{merchant.handle}", {}),
                         (f"/s/{merchant.handle}/p/prd_01J0000000000000000000000A?lang=fr", {}),
                         (f"/api/v1/merchants/{merchant.id}", {}),
                         ("/api/v1/merchant/products", {"Authorization": f"Bearer {token}"})):
        answer = route(kin_app, uri, **headers)
        assert (answer.status_code, answer.headers.get(REGION_HEADER)) == (204, "fdf"), uri
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}  # never fdf's shard


def test_a_dashboard_request_goes_where_its_signed_session_cookie_says(kin_app):
    browser = kin_app.test_client()
    with browser.session_transaction() as cookie:
        cookie.update(region="fdf", session_token="whatever: checked by fdf, not here")
    answer = browser.get("/edge/route", headers={METHOD_HEADER: "POST", URI_HEADER: "/dashboard/settings"})
    assert answer.headers.get(REGION_HEADER) == "fdf"
    forged = kin_app.test_client()
    forged.set_cookie("session", "eyJyZWdpb24iOiJmZGYifQ.forged.signature")
    answer = forged.get("/edge/route", headers={METHOD_HEADER: "GET", URI_HEADER: "/dashboard/"})
    assert REGION_HEADER not in answer.headers


def test_a_request_naming_no_known_party_is_left_to_the_region_it_entered(kin_app, martinique):
    for method, uri, headers in (("GET", "/", {}), ("GET", "/search?q=rum", {}), ("POST", "/api/v1/merchants", {}),
                                 ("GET", "/api/v1/merchants/mer_01J0000000000000000000000A", {}),
                                 ("GET", "/s/no-such-shop", {}), ("GET", "/nowhere", {}),
                                 ("GET", "/api/v1/merchant/products", {"Authorization": "Bearer cpu.not-a-key.x"})):
        answer = route(kin_app, uri, method, **headers)
        assert answer.status_code == 204 and REGION_HEADER not in answer.headers, uri


def test_a_misdirected_sign_up_names_its_home_region_in_a_header_the_edge_can_read(kin_app):
    refused = kin_app.test_client().post("/api/v1/merchants", json=registration("Fort Royal Vanille", "MQ"))
    assert refused.status_code == 421 and refused.mimetype == "application/problem+json"
    assert refused.headers[REGION_HEADER] == "fdf" and refused.get_json()["region"] == "fdf"
