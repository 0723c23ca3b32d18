"""What the shipment endpoints take and give."""

from marshmallow import Schema, fields, validate

from logistics import rates


class NewShipmentSchema(Schema):
    service = fields.String(load_default="registered_parcel", validate=validate.OneOf(sorted(rates.services())),
                            metadata={"description": "a postal service (logistics/data/services.toml)"})
    weight_g = fields.Integer(required=True, validate=validate.Range(min=1, max=30_000),
                              metadata={"description": "the parcel's gross weight in grams, within the service's limit"})


class HandOverSchema(Schema):
    """An empty JSON object: the hand-over needs no data, but every API write sends JSON."""


class NewReturnSchema(Schema):
    weight_g = fields.Integer(required=True, validate=validate.Range(min=1, max=30_000))


class TrackingEventSchema(Schema):
    code = fields.String(metadata={"description": "UPU event code (EMA ... EMI)"})
    meaning = fields.Method("_meaning")
    at = fields.AwareDateTime(attribute="occurred_at")
    office = fields.String()
    detail = fields.String(allow_none=True)
    changed_state = fields.Boolean(metadata={"description": "false: arrived after a later event; kept, state unchanged"})

    def _meaning(self, event) -> str:
        from logistics.tracking import codes

        return codes()[event.code]["meaning"]


class ShipmentSchema(Schema):
    id = fields.String()
    order_id = fields.String()
    kind = fields.String(metadata={"description": "outbound or return"})
    tracking_number = fields.String(metadata={"description": "UPU S10 item identifier"})
    service = fields.String()
    weight_g = fields.Integer()
    sender = fields.Dict()
    addressee = fields.Dict()
    state = fields.String(metadata={"description": "created, handed_over, posted, in_transit, held_by_customs, "
                                                   "attempt_failed or delivered"})
    created_at = fields.AwareDateTime()
    handed_over_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


class ShipmentDetailSchema(Schema):
    shipment = fields.Nested(ShipmentSchema)
    timeline = fields.List(fields.Nested(TrackingEventSchema), metadata={"description": "by event time"})


class BuyerTimelineEventSchema(Schema):
    code = fields.String()
    meaning = fields.String()
    at = fields.String()
    office = fields.String()
    detail = fields.String(allow_none=True)


class BuyerParcelSchema(Schema):
    tracking_number = fields.String()
    kind = fields.String()
    state = fields.String()
    timeline = fields.List(fields.Nested(BuyerTimelineEventSchema))
    updated_at = fields.AwareDateTime()
