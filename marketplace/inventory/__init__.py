"""Stock on hand per variant and location, and the reservations checkouts hold on it.

Stock lives in rows on the merchant's shard (`stock_levels`), one per variant and location:
`on_hand` (units the merchant has) and `reserved` (units held by checkouts not yet paid).
Every change is one conditional UPDATE on the row (`reserved = reserved + q WHERE on_hand -
reserved >= q`), so two checkouts racing for the last unit cannot both get it, and a merchant's
count and a reservation each change their own column and never overwrite each other.
"""
