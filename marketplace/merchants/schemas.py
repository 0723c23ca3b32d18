from __future__ import annotations

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates


class MerchantCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    home_country = fields.String(
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code of a member state; decides the home region"},
    )

    @pre_load
    def normalise(self, data, **_kwargs):
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("name"), str):
                data["name"] = " ".join(data["name"].split())
            if isinstance(data.get("home_country"), str):
                data["home_country"] = data["home_country"].strip().upper()
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
    created_at = fields.AwareDateTime(dump_only=True)
