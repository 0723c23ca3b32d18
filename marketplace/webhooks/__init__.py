"""Merchant webhooks: endpoints a merchant registers, deliveries of its order events to them,
signed, retried for a day, each attempt logged for the merchant to see."""
