"""Stripe Connect as a payment provider: PaymentIntents per checkout, separate charges and
transfers per merchant order, refunds, reversals, onboarding, and the signed webhook."""
