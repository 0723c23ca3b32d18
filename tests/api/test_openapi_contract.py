"""The OpenAPI document says what the service does: schemathesis generates requests from
/api/v1/openapi.json alone, sends them to the app in process, and runs all its checks on each
answer (no server errors; status codes, content types, headers and bodies as documented;
schema-valid requests accepted, schema-invalid ones refused; operations behind the Bearer
scheme refuse requests without a key). Once anonymously, once with a merchant owner's key.

Fixed seed (derandomized), MAX_EXAMPLES per operation. The coverage phase is off: it
enumerates boundary cases per operation without regard to max_examples (about 4,000 cases,
a minute and more per pass here), which no CI run can afford twice per commit; the
boundaries it would try are asserted one by one in test_hardening_bounds.py.

schemathesis.pytest.from_fixture does not run under pytest 9 (it sets a node's `_nodeid`,
which pytest 9 no longer has), so the tests walk the operations themselves, with
schemathesis building each operation's Hypothesis test as its pytest plugin would.
"""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.pytest.lazy import get_all_tests

from marketplace import openapi
from marketplace.bounds import BOUNDS
from marketplace.buyers import accounts as buyer_accounts
from marketplace.buyers import tokens as buyer_tokens
from marketplace.merchants import accounts, api_keys
from marketplace.text import text_problem
from tests.conftest import make_app
from tests.support import databases
from tests.support.merchants import PASSWORD, registration

MAX_EXAMPLES = 15
SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
# Some rules relate one field to another, or to stored data, and JSON Schema cannot say them:
# for these operations alone a schema-valid request may be refused with a 422 naming the field
# (positive_data_acceptance would otherwise demand a 2xx for, say, tiers whose prices rise).
RULES_BEYOND_JSON_SCHEMA = {
    # tiers: quantities rise and prices fall below the base price; moq is whole case packs; SKUs unique
    "POST /api/v1/merchant/products", "PUT /api/v1/merchant/products/{product_id}",
    # a percentage or contract prices; valid_until not before valid_from; the merchant's own variants
    "POST /api/v1/merchant/price-lists",
    # a webhook's URL must resolve, now, to public addresses only (loopback in the embedded default)
    "POST /api/v1/merchant/webhooks",
    # price_min not above price_max; no more decimals than the currency has; page times per_page
    # within the result window
    "GET /api/v1/search",
    # a reset token must be one a mail gave, unused and not expired (else a 422 naming `token`)
    "POST /api/v1/buyer/password-reset/complete",
    # placed_to not before placed_from
    "GET /api/v1/merchant/orders",
}
CONFIG = {
    "seed": 20261202,
    "phases": {"coverage": {"enabled": False}},
    "operations": [{
        "include-name": sorted(RULES_BEYOND_JSON_SCHEMA),
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}},
    }],
}


@pytest.fixture(scope="module")
def contract_app(sqlite_config):
    """Its own app on the session's SQLite databases, wiped afterwards: the fuzzing writes a
    great many rows that no other test should see."""
    app = make_app(sqlite_config)
    yield app
    databases.wipe(app.extensions["cpu"].router)
    app.extensions["cpu-throttle"].reset()
    app.extensions["cpu"].router.dispose()


@pytest.fixture(scope="module")
def owner_key(contract_app) -> str:
    router = contract_app.extensions["cpu"].router
    body = registration("Contract Roasters", "JM")
    owner = accounts.sign_up(router=router, trading_name=body["name"], legal_name=body["legal_name"], home_country="JM",
                             email=body["email"], password=PASSWORD, handle=body["handle"])
    _, token = api_keys.create(router=router, principal=owner, name="contract tests")
    return token


@pytest.fixture(scope="module")
def document(contract_app) -> dict:
    return contract_app.test_client().get("/api/v1/openapi.json").get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def test_operations_behind_a_merchant_key_declare_the_bearer_scheme_and_the_others_none(document):
    assert document["components"]["securitySchemes"]["merchantApiKey"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["merchantApiKey"]["description"]}
    secured = {label for label, operation in operations(document) if operation.get("security") == [{"merchantApiKey": []}]}
    assert secured == {label for label, _ in operations(document) if label.split()[1].startswith("/api/v1/merchant/")}
    assert len(secured) == 26 + 5 + 1 + 2 + 9  # + order settings (2), net terms (3), the balance statement, the payout rail and Stripe onboarding, shipments (9: with the customs form and advance data)
    assert all("401" in operation["responses"] for label, operation in operations(document) if label in secured)


def test_a_buyers_own_operations_declare_the_buyer_bearer_scheme(document):
    assert document["components"]["securitySchemes"]["buyerAccessToken"]["scheme"] == "bearer"
    secured = {label for label, operation in operations(document) if operation.get("security") == [{"buyerAccessToken": []}]}
    signing_in = {"/api/v1/buyer/tokens", "/api/v1/buyer/tokens/refresh", "/api/v1/buyer/password-reset",
                  "/api/v1/buyer/password-reset/complete"}
    buyers_own = ("/api/v1/buyer/", "/api/v1/cart", "/api/v1/checkouts", "/api/v1/orders")
    assert secured == {label for label, _ in operations(document)
                       if label.split()[1].startswith(buyers_own) and label.split()[1] not in signing_in}
    assert len(secured) == 16 + 9 + 1 + 1 and all("401" in dict(operations(document))[label]["responses"] for label in secured)


def test_every_operation_has_its_own_operation_id(document):
    ids = [operation.get("operationId") for _, operation in operations(document)]
    assert None not in ids and len(set(ids)) == len(ids)
    assert dict(operations(document))["POST /api/v1/merchant/products"]["operationId"] == "catalog.Products.post"


def test_what_comes_back_null_is_typed_nullable_and_urls_are_uris(document):
    api_key = document["components"]["schemas"]["ApiKey"]["properties"]
    for name in ("last_used_at", "revoked_at", "created_by_staff_id", "created_by_key_id"):
        assert "null" in api_key[name]["type"], name
    assert '"format": "url"' not in json.dumps(document)
    assert document["components"]["schemas"]["Product"]["properties"]["image_urls"]["items"]["format"] == "uri"


def test_values_the_service_refuses_are_outside_the_schema(document):
    schemas = document["components"]["schemas"]
    variant = schemas["Variant"]["properties"]
    assert "" not in schemas["MerchantCreate"]["properties"]["home_country"]["enum"]
    assert "JM" in schemas["MerchantCreate"]["properties"]["home_country"]["enum"]
    assert "" not in schemas["Product"]["properties"]["category"]["enum"]
    assert variant["hs_code"]["pattern"] == "^\\d{6,10}$"
    assert all(variant[name]["minimum"] == 1 for name in ("weight_g", "length_mm", "width_mm", "height_mm"))
    assert (variant["moq"]["maximum"], variant["base_price"]["maximum"]) == (BOUNDS.max_quantity, BOUNDS.max_unit_price)
    assert "AAA" not in schemas["MerchantSettings"]["properties"]["default_currency"]["enum"]
    assert "JMD" in schemas["MerchantSettings"]["properties"]["default_currency"]["enum"]


@pytest.mark.parametrize(("pattern", "multiline"), [(openapi.TEXT, True), (openapi.KEY, False)])
def test_the_documented_text_patterns_refuse_what_the_body_gate_refuses(pattern, multiline):
    # JSON Schema's `$` is the end of the text; Python's also matches before a final newline.
    whole_text = re.compile(pattern.removeprefix("^").removesuffix("$"))
    for code in [*range(0xa0), 0x2028, 0xfeff]:
        documented = whole_text.fullmatch(f"a{chr(code)}b") is not None
        assert documented == (text_problem(f"a{chr(code)}b", multiline=multiline) is None), hex(code)


def sendable_query(_context, query) -> bool:
    """No HTTP client can send a query parameter with no name and no values (schemathesis makes
    `{"": []}` to break additionalProperties, and the URL then carries nothing of it): such a
    case reaches the app as a valid request, and its 2xx is no failure."""
    return not query or all(name or values not in ([], None, "") for name, values in query.items())


def contract_failures(app, headers: dict[str, str] | None = None, fresh_headers=None) -> list[str]:
    """Every operation's failures, each with the request that reproduces it. `fresh_headers`
    gives each request its own (a buyer's new device token: a sign-out case ends only its own)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    schema.hooks.register_hook_with_name(sendable_query, "filter_query")

    def call_and_validate(case):
        case.call_and_validate(headers=fresh_headers() if fresh_headers else headers)

    failures = []
    for built in get_all_tests(schema=schema, test_func=call_and_validate, settings=SETTINGS, given_kwargs={}):
        operation, test = built.ok()
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # the checks' FailureGroup, or the app's own exception
            failures.append(f"{operation.label}:\n{exc}")
    return failures


def test_the_document_holds_for_an_anonymous_client(contract_app):
    failures = contract_failures(contract_app)
    assert not failures, "\n\n".join(failures)


def test_the_document_holds_for_a_merchant_owner(contract_app, owner_key):
    failures = contract_failures(contract_app, headers={"Authorization": f"Bearer {owner_key}"})
    assert not failures, "\n\n".join(failures)


@pytest.fixture(scope="module")
def company_admin(contract_app):
    router = contract_app.extensions["cpu"].router
    return buyer_accounts.sign_up(router=router, email="admin@contract-hotels.example", password=PASSWORD, name="Admin",
                                  home_country="JM", company={"name": "Contract Hotels", "tax_registration_number": "T-1"})


def test_the_document_holds_for_a_signed_in_company_buyer(contract_app, company_admin):
    router = contract_app.extensions["cpu"].router

    def fresh_headers():
        pair = buyer_tokens.start(router=router, buyer_id=company_admin.id, region=company_admin.region)
        return {"Authorization": f"Bearer {pair.access_token}"}

    failures = contract_failures(contract_app, fresh_headers=fresh_headers)
    assert not failures, "\n\n".join(failures)
