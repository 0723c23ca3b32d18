"""Carts, the checkout saga across regions, and merchant orders with their one state machine.

Where each thing lives (a region's process may not read another region's shard):
- the buyer's region: cart lines, checkouts with one leg per merchant, and the buyer's order
  summaries (written from the saga's answers, so a buyer lists orders without a foreign read);
- the merchant's region: the merchant order (lines and the shipping address, nothing else of
  the buyer), its transitions, and the stock reservation it holds.
The two talk only by addressed events (consumers.Subscription.addressed): see saga.py.
"""
