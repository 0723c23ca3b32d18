"""Buyer tokens and region-local processes: a token names its buyer's home region, so the
edge sends it home without a lookup; a process of another region answers 421 naming the home
region for the buyer's own endpoints, yet knows who the buyer is from the signed access
token alone (what the catalog and search of other regions need), never opening their shard."""

from __future__ import annotations

from marketplace.buyers.principal import current_buyer
from marketplace.edge import METHOD_HEADER, REGION_HEADER, URI_HEADER
from marketplace.regions.router import DIRECTORY
from search.service import audience_for
from tests.support import databases
from tests.support.buyers import PASSWORD, bearer, sign_in, sign_up, sign_up_body


def _martinique_buyer(client, **extra):
    buyer = sign_up(client, "Marie Fort", "MQ", **extra)  # by the all-regions process
    return buyer, sign_in(client, buyer["email"])


def test_the_edge_sends_buyer_tokens_home_without_a_lookup(kin_app, client, database_config, opened):
    _, pair = _martinique_buyer(client)
    edge = kin_app.test_client()
    for uri, token in (("/api/v1/buyer/profile", pair["access_token"]), ("/api/v1/buyer/tokens/refresh", pair["refresh_token"])):
        answer = edge.get("/edge/route", headers={METHOD_HEADER: "GET", URI_HEADER: uri, "Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.headers.get(REGION_HEADER)) == (204, "fdf"), uri
    unknown = edge.get("/edge/route", headers={METHOD_HEADER: "GET", URI_HEADER: "/api/v1/buyer/profile",
                                               "Authorization": "Bearer cpb.zzz.whatever"})
    assert REGION_HEADER not in unknown.headers
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}


def test_another_regions_process_answers_421_for_a_buyers_own_endpoints(kin_app, client, database_config, opened):
    buyer, pair = _martinique_buyer(client)
    kingston = kin_app.test_client()
    for response in (kingston.get("/api/v1/buyer/profile", headers=bearer(pair)),
                     kingston.post("/api/v1/buyer/tokens/refresh", json={"refresh_token": pair["refresh_token"]}),
                     kingston.post("/api/v1/buyer/tokens", json={"email": buyer["email"], "password": PASSWORD})):
        assert response.status_code == 421, response.get_json()
        assert response.get_json()["region"] == "fdf" and response.headers[REGION_HEADER] == "fdf"
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}


def test_a_sign_up_for_another_region_is_misdirected_and_leaves_the_email_free(kin_app, client):
    body = sign_up_body("Marie Later", "MQ")
    refused = kin_app.test_client().post("/api/v1/buyers", json=body)
    assert refused.status_code == 421 and refused.get_json()["region"] == "fdf"
    assert client.post("/api/v1/buyers", json=body).status_code == 201  # at home it opens


def test_another_region_knows_the_buyer_and_their_company_from_the_token_alone(kin_app, client, database_config, opened):
    _, pair = _martinique_buyer(client, company="Hotel Fort")
    with kin_app.test_request_context("/api/v1/search", headers=bearer(pair)):
        buyer = current_buyer()
    assert (buyer.region, buyer.country, buyer.currency, buyer.company_role) == ("fdf", "MQ", "EUR", "admin")
    assert buyer.company_id.startswith("cmp_") and audience_for(buyer) == "b2b"
    assert databases.opened_names(database_config, opened) <= {"kin", DIRECTORY}


def test_a_signed_in_company_buyer_searches_as_a_business_and_a_person_as_retail(client):
    _, company_pair = _martinique_buyer(client, company="Hotel Fort")
    person = sign_up(client, "Paul Person", "JM")
    person_pair = sign_in(client, person["email"])
    audiences = {}
    for name, pair in (("company", company_pair), ("person", person_pair), ("anonymous", None)):
        with client.application.test_request_context("/api/v1/search", headers=bearer(pair) if pair else {}):
            audiences[name] = audience_for(current_buyer())
    assert audiences == {"company": "b2b", "person": "retail", "anonymous": "retail"}
    assert client.get("/api/v1/search?q=rum", headers=bearer(company_pair)).status_code == 200
