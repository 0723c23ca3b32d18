"""What every response carries: request ids, problem documents, no stack traces; health."""

import io
import json
import logging

from marketplace.observability import json_handler
from tests.conftest import make_app
from tests.support.merchants import registration


def test_every_response_carries_a_request_id_and_accepts_a_well_formed_one(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) >= 16
    echoed = client.get("/healthz", headers={"X-Request-ID": "caller-trace-0001"})
    assert echoed.headers["X-Request-ID"] == "caller-trace-0001"
    for hostile in ("<script>", "trace abcdef12", "x" * 200):
        assert client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"] != hostile


def test_a_problem_carries_the_same_request_id_as_its_response(client):
    response = client.get("/api/v1/merchants/nope", headers={"X-Request-ID": "trace-abcdef12"})
    assert response.get_json()["request_id"] == "trace-abcdef12"


def test_readiness_reports_all_six_regions_and_the_directory(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body["databases"]) == {"kin", "sdq", "sxm", "fdf", "bgi", "pos", "directory"}
    assert all(d["ready"] and d["schema_at_head"] and d["latency_ms"] >= 0 for d in body["databases"].values())


def test_an_unexpected_error_shows_no_stack_trace(database_config):
    app = make_app(database_config)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    app.extensions["cpu"].router.dispose()


def test_browser_pages_get_an_html_error_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "<h1>Not Found</h1>" in response.get_data(as_text=True)


def test_log_lines_are_json_with_request_id_and_region(client):
    stream = io.StringIO()
    handler = json_handler(stream)
    access = logging.getLogger("marketplace.access")
    access.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        merchant = client.post("/api/v1/merchants", json=registration("Logged", "BB")).get_json()
        client.get(f"/api/v1/merchants/{merchant['id']}", headers={"X-Request-ID": "trace-logline-1"})
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == "trace-logline-1"
    assert line["status"] == 200 and line["path"] == f"/api/v1/merchants/{merchant['id']}"
    assert line["region"] == "bgi" and line["level"] == "INFO"
