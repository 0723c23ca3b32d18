"""Whole numbers in JSON bodies, as JSON Schema counts them.

The OpenAPI document types counts and amounts as `integer`, and to JSON Schema 12.0 is an
integer (a number whose fraction is zero): a client or generator may send it so. marshmallow's
strict Integer refused it with "Not a valid integer." while its lax one takes "12" as well. This
field takes both 12 and 12.0 as 12, and refuses 12.5, "12" and true.
"""

from __future__ import annotations

from marshmallow import fields


class WholeNumber(fields.Integer):
    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return super()._validated(value)
