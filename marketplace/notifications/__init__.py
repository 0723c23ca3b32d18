"""Telling people about orders by mail: the merchant's new-order notice from the merchant's
region, the buyer's confirmation from the buyer's region (each address lives only there)."""
