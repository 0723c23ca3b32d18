"""Stock shapes for the merchant JSON API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from marketplace.bounds import BOUNDS
from marketplace.wholenumbers import WholeNumber


class StockLevelSchema(Schema):
    location = fields.String(dump_only=True)
    on_hand = fields.Integer(dump_only=True, metadata={"description": "units the merchant has here"})
    reserved = fields.Integer(dump_only=True, metadata={"description": "units held by checkouts not yet paid"})
    available = fields.Integer(dump_only=True, metadata={"description": "on_hand - reserved: what buyers can still get"})
    revision = fields.Integer(dump_only=True, metadata={"description": "bumped by every count and sale; the ETag, and what If-Match names"})
    updated_at = fields.AwareDateTime(dump_only=True)


class StockSchema(Schema):
    variant_id = fields.String()
    locations = fields.List(fields.Nested(StockLevelSchema))


class CountSchema(Schema):
    on_hand = WholeNumber(required=True, validate=[
        validate.Range(min=0, error="stock must not be negative"),
        validate.Range(max=BOUNDS.max_quantity, error=f"at most {BOUNDS.max_quantity:,} units")],
        metadata={"description": "units on hand at this location; not below what checkouts hold"})
