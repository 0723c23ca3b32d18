"""What the OpenAPI document says beyond what flask-smorest derives from each view, so that a
client generated from the document alone works: every operation has an operationId; those
behind a merchant's API key declare the Bearer scheme (and their 401); URLs are `format: uri`
(JSON Schema has no `url`); a dictionary's keys are documented, not just its values; text in
a JSON body is held to marketplace.text's rule (no control characters), which the body gate
(marketplace.jsonbody) enforces before any schema, and the document says so.

The rules are generic, applied to every operation and field in one place, so a new view is
documented the same way without remembering to say so.
"""

from __future__ import annotations

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import Flask
from flask_smorest import Api
from marshmallow import fields

from marketplace.buyers.principal import require_buyer_before_request
from marketplace.merchants.principal import require_principal
from marketplace.merchants.schemas import MemberState
from marketplace.regions.regionmap import RegionMap

# The characters marketplace.text.text_problem refuses, as JSON Schema patterns: in text
# values (newlines and tabs allowed) and in the keys of an object (none allowed).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
KEY = r"^[^\x00-\x1f\x7f]*$"
BEARER = "merchantApiKey"
BEARER_SCHEME = {
    "type": "http", "scheme": "bearer",
    "description": "A merchant API key (`cpu.…`), made under /api/v1/merchant/api-keys or in the dashboard.",
}

BUYER_BEARER = "buyerAccessToken"
BUYER_BEARER_SCHEME = {
    "type": "http", "scheme": "bearer",
    "description": "A buyer's access token (`cpb.<region>.…`) from POST /api/v1/buyer/tokens; it lives 15 minutes, "
                   "then POST /api/v1/buyer/tokens/refresh gives a new one.",
}


class OperationsPlugin(BasePlugin):
    """Names each operation after its Flask endpoint and method (`catalog.Products.post`:
    unique, since Flask's endpoints are), and marks the operations of blueprints that ask
    for a Principal before every request as needing the Bearer key."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs["rule"]
        blueprint = rule.endpoint.partition(".")[0]
        hooks = self.app.before_request_funcs.get(blueprint, ())
        secured = BEARER if require_principal in hooks else BUYER_BEARER if require_buyer_before_request in hooks else None
        for method, operation in operations.items():
            operation.setdefault("operationId", f"{rule.endpoint}.{method}")
            if secured:
                operation.setdefault("security", [{secured: []}])
                operation.setdefault("responses", {}).setdefault("401", "UNAUTHORIZED")


class _Converter(OpenAPIConverter):
    """Knows whether it is converting query or path parameters: those are not JSON bodies, and
    the body's text rule is left off them."""

    reading_parameters = False

    def schema2parameters(self, schema, *, location, **kwargs):
        self.reading_parameters = True
        try:
            return super().schema2parameters(schema, location=location, **kwargs)
        finally:
            self.reading_parameters = False


class _MarshmallowPlugin(MarshmallowPlugin):
    Converter = _Converter


def spec_kwargs(app: Flask) -> dict:
    """flask-smorest's `spec_kwargs`: the plugins that write these rules."""
    return {"marshmallow_plugin": _MarshmallowPlugin(), "extra_plugins": [OperationsPlugin(app)]}


def install(api: Api, regions: RegionMap) -> None:
    """Before any blueprint is registered: the security scheme and the field conventions."""
    api.spec.components.security_scheme(BEARER, BEARER_SCHEME)
    api.spec.components.security_scheme(BUYER_BEARER, BUYER_BEARER_SCHEME)
    api.register_field(fields.Url, "string", "uri")

    def member_states(self, field, ret, **kwargs) -> dict:
        return {"enum": sorted(regions.countries)} if isinstance(field, MemberState) else {}

    for attribute_function in (member_states, body_text2properties, dict_keys2properties):
        api.ma_plugin.converter.add_attribute_function(attribute_function)


def body_text2properties(self, field, ret, **kwargs) -> dict:
    """The text rule on every string of a body that is not already one of a list of values."""
    if not isinstance(field, fields.String) or field.dump_only or self.reading_parameters or "enum" in ret:
        return {}
    if "pattern" in ret:
        return {"allOf": [*ret.get("allOf", ()), {"pattern": TEXT}]}
    return {"pattern": TEXT}


def dict_keys2properties(self, field, ret, **kwargs) -> dict:
    """A Dict's key field as `propertyNames`, and its Length as a count of properties."""
    if not isinstance(field, fields.Dict):
        return {}
    extra = {}
    for length, count in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
        if length in ret:
            extra[count] = ret.pop(length)
    if field.key_field is not None:
        names = self.field2property(field.key_field)
        names.pop("type", None)  # keys are strings anyway
        if names.get("pattern") == TEXT:
            names["pattern"] = KEY
        if names:
            extra["propertyNames"] = names
    return extra
