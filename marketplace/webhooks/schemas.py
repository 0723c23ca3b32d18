"""What the merchant API reads and shows of webhooks: never the secret, except once at creation."""

from marshmallow import Schema, fields, validate

from marketplace.webhooks.service import topics


class WebhookSchema(Schema):
    id = fields.String(dump_only=True)
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                        metadata={"description": "https:// on a public address (http:// to loopback only in the embedded default)"})
    events = fields.List(fields.String(validate=validate.OneOf(sorted(topics()))), required=True,
                         validate=validate.Length(min=1), metadata={"description": "order events to receive: "
                                                                     + ", ".join(sorted(topics()))})
    created_at = fields.AwareDateTime(dump_only=True)


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "shown this once: verify each delivery's `CPU-Signature: t=<unix time>,v1=<hex>` header, "
                       "HMAC-SHA256 of `<t>.<raw body>` under this secret"})


class AttemptSchema(Schema):
    attempted_at = fields.AwareDateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "null: no answer (refused, timed out)"})
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    topic = fields.String()
    state = fields.String(metadata={"description": "pending, delivered or given_up (after 24 hours of failures)"})
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema))
