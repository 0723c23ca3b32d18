"""What the shipment endpoints take and give."""

from marshmallow import Schema, fields, validate

from logistics import customs, rates
from marketplace.bounds import BOUNDS


def _side(name: str) -> fields.Integer:
    return fields.Integer(load_default=None, validate=validate.Range(min=1, max=BOUNDS.max_dimension_mm), metadata={
        "description": f"the packed parcel's {name} in millimetres; give all three sides or none (then it is "
                       "charged by weight alone), within the service's limits"})


class NewShipmentSchema(Schema):
    service = fields.String(load_default="registered_parcel", validate=validate.OneOf(sorted(rates.services())),
                            metadata={"description": "a postal service (logistics/data/services.toml)"})
    weight_g = fields.Integer(required=True, validate=validate.Range(min=1, max=30_000),
                              metadata={"description": "the parcel's gross weight in grams, within the service's limit"})
    length_mm = _side("length")
    width_mm = _side("width")
    height_mm = _side("height")


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
    length_mm = fields.Integer(allow_none=True, metadata={"description": "millimetres; null when not given"})
    width_mm = fields.Integer(allow_none=True)
    height_mm = fields.Integer(allow_none=True)
    billable_weight_g = fields.Integer(allow_none=True, metadata={
        "description": "the weight the postage is charged by: the volumetric weight where the service bills by "
                       "volume and it is more; null for a return"})
    postage = fields.Method("_postage", allow_none=True, metadata={
        "description": "what the post charges: amount_minor of currency (US cents at the rate table); null for a return"})
    sender = fields.Dict()
    addressee = fields.Dict()
    state = fields.String(metadata={"description": "created, handed_over, posted, in_transit, held_by_customs, "
                                                   "attempt_failed or delivered"})
    created_at = fields.AwareDateTime()
    handed_over_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)

    def _postage(self, shipment) -> dict | None:
        if shipment.postage_amount is None:
            return None
        return {"amount_minor": shipment.postage_amount, "currency": shipment.postage_currency}


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


class CustomsArgsSchema(Schema):
    category = fields.String(load_default=None, metadata={
        "description": f"category of item, one of {', '.join(customs.settings()['categories'])}; by default "
                       "sale_of_goods for an outbound parcel, returned_goods for a return"})


class DeclaredLineSchema(Schema):
    description = fields.String()
    quantity = fields.Integer()
    net_weight_g = fields.Integer(metadata={"description": "the line's, all units"})
    value = fields.Integer(metadata={"description": "the line's, in minor units of the currency"})
    hs_code = fields.String(metadata={"description": "HS tariff code"})
    origin_country = fields.String(metadata={"description": "ISO 3166 country of origin"})


class AdvanceDataSchema(Schema):
    """The electronic advance data of one item for the destination's customs (ITMATT-like)."""

    schema = fields.String(metadata={"description": "cpu-itmatt/1"})
    item_id = fields.String(metadata={"description": "the item's S10 tracking number"})
    declaration_form = fields.String(metadata={"description": "CN22 up to 300 SDR, CN23 above"})
    category_of_item = fields.String()
    order_reference = fields.String()
    posted_at = fields.String(allow_none=True, metadata={"description": "when handed over to the post; null before"})
    sender = fields.Dict()
    addressee = fields.Dict()
    destination_country = fields.String()
    currency = fields.String()
    total_value = fields.Integer(metadata={"description": "minor units of the currency"})
    postage = fields.Integer(metadata={"description": "minor units of the currency"})
    total_net_weight_g = fields.Integer()
    contents = fields.List(fields.Nested(DeclaredLineSchema))
