from __future__ import annotations

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates


class MerchantCreateSchema(Schema):
    """A merchant account with its owner: what the dashboard's sign-up form asks, as JSON."""

    trading_name = fields.String(required=True, data_key="name", validate=validate.Length(min=1, max=200),
                                 metadata={"description": "the trading name, shown to buyers"})
    legal_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    home_country = fields.String(
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code of a member state; decides the home region"},
    )
    email = fields.Email(required=True, validate=validate.Length(max=254), metadata={"description": "the owner's sign-in"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    handle = fields.String(required=True, validate=validate.Length(min=3, max=40),
                           metadata={"description": "the storefront's address: /s/<handle>"})
    tax_id = fields.String(validate=validate.Length(max=40))
    languages = fields.List(fields.String(), validate=validate.Length(min=1))
    currency = fields.String(data_key="default_currency", validate=validate.Regexp(r"^[A-Z]{3}$"))

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

    @validates("home_country")
    def member_state(self, value: str, **_kwargs) -> None:
        if current_app.extensions["cpu"].regions.member(value) is None:
            raise ValidationError(f"{value!r} is not a member state of the marketplace.")


class MerchantSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    home_country = fields.String(dump_only=True)
    region = fields.String(dump_only=True, metadata={"description": "code of the home data center"})
    handle = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
