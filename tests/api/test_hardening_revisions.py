"""Products carry a revision: the API answers with an ETag and refuses a PUT over a newer
revision (If-Match), so a concurrent change is never silently overwritten."""

from tests.api.test_merchant_api import product_body, two_merchants  # noqa: F401 (fixture)


def test_a_put_with_a_stale_if_match_is_refused_and_the_newer_change_survives(client, two_merchants):  # noqa: F811
    (_, auth), _ = two_merchants
    created = client.post("/api/v1/merchant/products", json=product_body(), headers=auth)
    url = f"/api/v1/merchant/products/{created.get_json()['id']}"
    read = client.get(url, headers=auth)
    assert read.headers["ETag"] == created.headers["ETag"] == '"1"'

    first = client.put(url, json=product_body(title={"en": "First edit"}), headers={**auth, "If-Match": read.headers["ETag"]})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"' and first.get_json()["revision"] == 2

    second = client.put(url, json=product_body(title={"en": "Second edit"}), headers={**auth, "If-Match": read.headers["ETag"]})
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json" and second.get_json()["revision"] == 2
    assert client.get(url, headers=auth).get_json()["title"] == {"en": "First edit"}


def test_a_put_without_if_match_still_replaces_and_bumps_the_revision(client, two_merchants):  # noqa: F811
    (_, auth), _ = two_merchants
    url = f"/api/v1/merchant/products/{client.post('/api/v1/merchant/products', json=product_body(), headers=auth).get_json()['id']}"
    replaced = client.put(url, json=product_body(title={"en": "Edited"}), headers=auth)
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"2"'
    unchanged = client.put(url, json=product_body(title={"en": "Edited"}), headers={**auth, "If-Match": '"2"'})
    assert unchanged.status_code == 200 and unchanged.headers["ETag"] == '"2"'  # nothing changed, nothing bumped


def test_an_if_match_that_is_not_a_revision_is_refused(client, two_merchants):  # noqa: F811
    (_, auth), _ = two_merchants
    url = f"/api/v1/merchant/products/{client.post('/api/v1/merchant/products', json=product_body(), headers=auth).get_json()['id']}"
    refused = client.put(url, json=product_body(), headers={**auth, "If-Match": '"abc"'})
    assert refused.status_code == 422 and "If-Match" in refused.get_json()["errors"]


def test_the_openapi_document_offers_if_match_on_product_put(client):
    put = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/merchant/products/{product_id}"]["put"]
    assert "If-Match" in [p["name"] for p in put["parameters"]] and "412" in put["responses"]
