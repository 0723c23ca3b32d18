"""The merchant slice through HTTP: registration, lookup, bad input, OpenAPI."""

import json

import pytest
from sqlalchemy import text

from marketplace.problems import ProblemSchema
from marketplace.regions.router import DIRECTORY
from tests.support.merchants import registration

PROBLEM = "application/problem+json"


def count_rows(router):
    total = 0
    for name in router.database_names:
        table = "directory_entries" if name == DIRECTORY else "merchants"
        with router.engine(name).connect() as connection:
            total += connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    return total


def test_registering_a_jamaican_merchant_homes_it_in_kingston(client):
    response = client.post("/api/v1/merchants", json=registration("Blue Mountain Roasters", "JM"))
    assert response.status_code == 201
    merchant = response.get_json()
    assert merchant["region"] == "kin" and merchant["id"].startswith("mer_")
    assert merchant["name"] == "Blue Mountain Roasters" and merchant["home_country"] == "JM"
    assert merchant["handle"] == "blue-mountain-roasters" and "password" not in merchant
    assert merchant["created_at"].endswith("+00:00")

    fetched = client.get(f"/api/v1/merchants/{merchant['id']}")
    assert fetched.status_code == 200 and fetched.get_json() == merchant


def test_an_unknown_merchant_is_a_404_problem(client):
    response = client.get("/api/v1/merchants/mer_01M897S1J8D38N1K4DV6KSQSH1")
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert response.get_json()["detail"] == "No merchant mer_01M897S1J8D38N1K4DV6KSQSH1."


BAD_REQUESTS = [
    ("unknown country", {"json": {"name": "Rum Co", "home_country": "XX"}}, 422, "home_country"),
    ("country outside the union", {"json": {"name": "Rum Co", "home_country": "US"}}, 422, "home_country"),
    ("missing name", {"json": {"home_country": "JM"}}, 422, "name"),
    ("blank name", {"json": {"name": "   ", "home_country": "JM"}}, 422, "name"),
    ("name too long", {"json": {"name": "x" * 201, "home_country": "JM"}}, 422, "name"),
    ("name not a string", {"json": {"name": 12, "home_country": "JM"}}, 422, "name"),
    ("unknown field", {"json": {"name": "Rum Co", "home_country": "JM", "is_admin": True}}, 422, "is_admin"),
    ("malformed JSON", {"data": '{"name": "Rum', "content_type": "application/json"}, 400, "body"),
    ("JSON that is not an object", {"data": "[1, 2]", "content_type": "application/json"}, 422, "_schema"),
    ("form instead of JSON", {"data": {"name": "Rum Co"}}, 415, "Content-Type"),
    ("oversized body", {"data": json.dumps({"name": "x" * 2_000_000}), "content_type": "application/json"}, 413, "body"),
]


@pytest.mark.parametrize(("case", "request_kwargs", "status", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(client, router, case, request_kwargs, status, field):
    response = client.post("/api/v1/merchants", **request_kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert field in problem["errors"], problem
    assert count_rows(router) == 0


def test_registering_a_taken_handle_or_email_again_is_a_conflict_and_registers_once(client, router):
    """What a retry after a lost answer gets: nothing is registered twice."""
    body = registration("Sorrel Syrup Ltd", "TT")
    assert client.post("/api/v1/merchants", json=body).status_code == 201
    again = client.post("/api/v1/merchants", json=body)
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert {"handle", "email"} <= set(again.get_json()["errors"])
    assert count_rows(router) == 3  # one merchant row; directory entries of the merchant and its owner


def test_registration_announces_itself_on_the_outbox(client, platform):
    from marketplace.regions.outbox import HandlerRegistry, Relay

    received = []
    listener = HandlerRegistry()
    listener.on("merchant.registered")(lambda event: received.append(event.payload))
    merchant = client.post("/api/v1/merchants", json=registration("Announce", "GP")).get_json()
    Relay(platform.router, listener).drain()
    assert [(e["merchant_id"], e["region"]) for e in received] == [(merchant["id"], "fdf")]


def test_the_openapi_document_describes_the_merchant_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {"post"} <= set(document["paths"]["/api/v1/merchants"])
    assert "get" in document["paths"]["/api/v1/merchants/{merchant_id}"]
    created = document["paths"]["/api/v1/merchants"]["post"]
    assert created["summary"] == "Open a merchant account with its owner, in its home region."
    assert "201" in created["responses"] and "422" in created["responses"]


def test_errors_are_documented_as_the_problem_documents_they_are(client):
    """Clients generated from the OpenAPI document must parse real error answers."""
    document = client.get("/api/v1/openapi.json").get_json()
    invalid = document["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert invalid == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert {"type", "title", "status", "detail", "errors", "request_id"} <= set(document["components"]["schemas"]["Problem"]["properties"])
    for response in (client.post("/api/v1/merchants", json={"name": ""}),           # 422 with field errors
                     client.get("/api/v1/merchants/mer_01M897S1J8D38N1K4DV6KSQSH1"),  # 404
                     client.get("/api/v1/merchant/products")):                      # 401
        assert response.mimetype == "application/problem+json"
        assert ProblemSchema().validate(response.get_json()) == {}, response.get_json()


def test_a_retry_with_the_same_idempotency_key_answers_the_first_sign_up(client, router):
    body = registration("Sorrel Syrup Ltd", "TT")
    first = client.post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "signup-42"})
    again = client.post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "signup-42"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert count_rows(router) == 3  # one merchant row; directory entries of the merchant and its owner


def test_reusing_an_idempotency_key_for_another_sign_up_is_a_conflict(client, router):
    client.post("/api/v1/merchants", json=registration("One", "TT"), headers={"Idempotency-Key": "k-1"})
    response = client.post("/api/v1/merchants", json=registration("Two", "TT"), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert count_rows(router) == 3


def test_a_key_reused_with_another_home_country_is_a_conflict_not_a_second_merchant(client, router):
    """The other country is another region: only the directory sees both requests."""
    first = client.post("/api/v1/merchants", json=registration("One", "JM"), headers={"Idempotency-Key": "k-2"})
    other = client.post("/api/v1/merchants", json=registration("One", "BB"), headers={"Idempotency-Key": "k-2"})
    assert first.status_code == 201 and other.status_code == 409
    assert count_rows(router) == 3


def test_a_malformed_idempotency_key_is_refused(client, router):
    response = client.post("/api/v1/merchants", json=registration("One", "TT"), headers={"Idempotency-Key": "has spaces"})
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["errors"]
    assert count_rows(router) == 0


def test_a_retry_while_the_first_sign_up_is_still_writing_is_told_to_wait(client, router):
    """The key and the names are claimed (the first request's first step), the shard rows not
    yet: answering 201 with nothing, or opening a second account, would both be wrong."""
    from marketplace.regions.idempotency import fingerprint
    from marketplace.regions.ids import new_id
    from marketplace.regions.models import RegistrationKey

    body = registration("Slow", "JM")
    request = fingerprint({"trading_name": "Slow", "legal_name": body["legal_name"], "home_country": "JM",
                           "email": body["email"], "handle": body["handle"], "tax_id": None, "languages": None,
                           "currency": None})
    merchant_id = new_id("mer")
    router.assign(merchant_id, kind="merchant", region="kin",
                  also=[RegistrationKey(key="k-3", fingerprint=request, merchant_id=merchant_id)])
    response = client.post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "k-3"})
    assert response.status_code == 409 and "not finished" in response.get_json()["detail"]


def test_a_sign_up_key_keeps_no_hash_of_the_password(client, router):
    """The key's fingerprint leaves the password out (no weak hash of it beside the key), so
    a retry that differs only in the password is still the same sign-up, and answers it."""
    body = registration("Pepper Pot Co", "JM")
    first = client.post("/api/v1/merchants", json=body, headers={"Idempotency-Key": "k-4"})
    again = client.post("/api/v1/merchants", json={**body, "password": "another long password"},
                        headers={"Idempotency-Key": "k-4"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert count_rows(router) == 3
