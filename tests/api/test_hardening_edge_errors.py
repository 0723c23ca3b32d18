"""Every error the framework itself raises for an /api/ path is problem+json that no browser
sniffs into a page and no cache keeps: the reflected-XSS hole of issue 9, item 1."""

import pytest

PROBLEM = "application/problem+json"
XSS_PATH = "/api/v1/merchant/price-lists/%3Csvg%20onload%3Dalert(document.domain)%3E"


def assert_guarded_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["status"] == status


def test_a_405_with_script_in_the_path_is_not_an_html_page(client):
    response = client.get(XSS_PATH)
    assert_guarded_problem(response, 405)
    assert "PUT" in response.headers["Allow"] or "DELETE" in response.headers["Allow"]


def test_an_unknown_api_path_is_a_guarded_404(client):
    assert_guarded_problem(client.get("/api/v1/no-such-thing/%3Cscript%3E"), 404)


def test_a_method_a_route_lacks_is_405_before_any_content_type_check(client):
    response = client.put("/api/v1/merchants", data="x", content_type="text/plain")
    assert_guarded_problem(response, 405)


def test_a_body_that_is_not_json_is_a_guarded_415(client):
    assert_guarded_problem(client.post("/api/v1/merchants", data="x", content_type="text/plain"), 415)


def test_a_body_over_the_limit_is_a_guarded_413(client, app):
    body = b'{"name": "' + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1) + b'"}'
    assert_guarded_problem(client.post("/api/v1/merchants", data=body, content_type="application/json"), 413)


@pytest.mark.parametrize("status", [400, 404, 405, 413, 414, 415, 429, 431])
def test_every_framework_error_under_the_api_is_guarded_problem_json(app, status):
    """414 and 431 come from werkzeug only where a server hands them on; render them all."""
    from werkzeug.exceptions import default_exceptions

    with app.test_request_context("/api/v1/anything/%3Cb%3E"):
        from marketplace import problems

        response = app.make_response(problems._http_error(default_exceptions[status]()))
        response = app.process_response(response)
    assert_guarded_problem(response, status)


def test_successful_api_answers_are_not_cached_either(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
