"""JSON bodies that used to crash the parser or poison stored text are 422s naming where."""

import json

JSON = "application/json"


def post(client, raw: str):
    return client.post("/api/v1/merchants", data=raw, content_type=JSON)


def test_json_nested_a_thousand_deep_is_a_422_not_a_crash(client):
    response = post(client, "[" * 1000 + "]" * 1000)
    assert response.status_code == 422 and "nested" in response.get_json()["errors"]["body"][0]


def test_json_nested_just_past_the_limit_is_refused(client):
    response = post(client, '{"name": ' + "[" * 40 + "]" * 40 + "}")
    assert response.status_code == 422 and "nested" in json.dumps(response.get_json()["errors"])


def test_a_five_thousand_digit_integer_is_a_422_naming_the_field(client):
    response = post(client, '{"name": ' + "9" * 5000 + ', "home_country": "JM"}')
    assert response.status_code == 422 and "name" in response.get_json()["errors"]


def test_a_lone_surrogate_in_a_merchant_name_is_a_422_naming_the_field(client):
    response = post(client, '{"name": "a\\ud800b", "home_country": "JM"}')
    assert response.status_code == 422
    assert "surrogate" in response.get_json()["errors"]["name"][0]


def test_nul_in_nested_text_is_named_by_its_path(client):
    response = post(client, '{"name": "Kingston", "home_country": "JM", "x": {"y": ["ok", "a\\u0000b"]}}')
    assert response.status_code == 422 and "x.y.1" in response.get_json()["errors"]


def test_broken_json_is_a_400_problem(client):
    response = post(client, '{"name": ')
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
