"""What the merchant API shows of a merchant's money."""

from marshmallow import Schema, fields


class BalanceSchema(Schema):
    currency = fields.String()
    held = fields.Integer(metadata={"description": "minor units in escrow until delivery"})
    available = fields.Integer(metadata={"description": "minor units the next payout pays"})
    paid_out = fields.Integer(metadata={"description": "minor units paid out so far"})


class StatementLineSchema(Schema):
    at = fields.AwareDateTime()
    kind = fields.String(metadata={"description": "capture, release, refund, reversal or payout"})
    account = fields.String(metadata={"description": "merchant_held or merchant_available"})
    order_id = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "minor units: + owed to you, - taken off"})
    currency = fields.String()


class NextPayoutSchema(Schema):
    currency = fields.String()
    rail = fields.String(metadata={"description": "stripe_connect or bank_transfer"})
    amount = fields.Integer(metadata={"description": "minor units the next payout run pays by this rail"})


class StatementSchema(Schema):
    merchant_id = fields.String()
    rail = fields.String(metadata={"description": "how money buyers paid through Stripe (card) reaches you: stripe_connect "
                                                  "or bank_transfer (payments/payout_rails.toml); all other money goes by "
                                                  "bank_transfer"})
    why = fields.String(allow_none=True, metadata={"description": "why your Stripe money is not paid by Stripe Connect"})
    balances = fields.List(fields.Nested(BalanceSchema))
    next_payouts = fields.List(fields.Nested(NextPayoutSchema), metadata={
        "description": "what the next payout run pays, per currency and rail (one payout each)"})
    lines = fields.List(fields.Nested(StatementLineSchema), metadata={"description": "the latest 50, newest first"})
