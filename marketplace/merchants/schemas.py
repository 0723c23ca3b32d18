from __future__ import annotations

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from marketplace.codes import ISO_CURRENCY
from marketplace.merchants.accounts import HANDLE_SHAPE, LANGUAGES

LANGUAGE_LIST = fields.List(fields.String(validate=validate.OneOf(LANGUAGES, error="one of " + ", ".join(LANGUAGES))),
                            validate=validate.Length(min=1))


class MemberState(fields.String):
    """A member state's ISO 3166-1 alpha-2 code. The members are the app's region map (a data
    file a deployment may change), so the OpenAPI document's enum of them is added where the
    document is built (marketplace.openapi), not fixed here."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if current_app.extensions["cpu"].regions.member(code) is None:
            raise ValidationError(f"{code!r} is not a member state of the marketplace.")
        return code


class MerchantCreateSchema(Schema):
    """A merchant account with its owner: what the dashboard's sign-up form asks, as JSON."""

    trading_name = fields.String(required=True, data_key="name", validate=validate.Length(min=1, max=200),
                                 metadata={"description": "the trading name, shown to buyers"})
    legal_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    home_country = MemberState(
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code of a member state; decides the home region"},
    )
    email = fields.Email(required=True, validate=validate.Length(max=254), metadata={"description": "the owner's sign-in"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    handle = fields.String(required=True, validate=validate.Regexp(HANDLE_SHAPE, error="3 to 40 lower-case letters, digits or hyphens, not starting or ending with a hyphen"),
                           metadata={"description": "the storefront's address: /s/<handle>"})
    tax_id = fields.String(validate=validate.Length(max=40))
    languages = LANGUAGE_LIST
    currency = fields.String(data_key="default_currency", validate=ISO_CURRENCY)

    @pre_load
    def normalise(self, data, **_kwargs):
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("name"), str):
                data["name"] = " ".join(data["name"].split())
            if isinstance(data.get("home_country"), str):
                data["home_country"] = data["home_country"].strip().upper()
            for name in ("email", "handle"):
                if isinstance(data.get(name), str):
                    data[name] = data[name].strip().lower()
        return data


class MerchantSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    home_country = fields.String(dump_only=True)
    region = fields.String(dump_only=True, metadata={"description": "code of the home data center"})
    handle = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


def merchant_document(merchant) -> dict:
    """What `MerchantSchema().dump(merchant)` gives, assembled by hand: `GET
    /api/v1/merchants/<id>` is the hottest read, and a schema dump is a walk over fields for
    six values. A test keeps the two byte for byte alike; a field added to MerchantSchema
    belongs here too."""
    return {"id": merchant.id, "name": merchant.name, "home_country": merchant.home_country, "region": merchant.region,
            "handle": merchant.handle, "created_at": merchant.created_at.isoformat()}
