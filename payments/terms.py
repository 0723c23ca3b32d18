"""Whether a merchant lets a company pay on invoice: the one place the payments side asks.

The grant itself (net 30/60 per company) is the merchant's to make, in the merchant's region
(issue 11, `marketplace.buyers.terms.net_terms_for`). Until that module is merged this answers
None, so the invoice method is refused for everyone; once it exists, its answer is used.
"""

from __future__ import annotations

from importlib.util import find_spec


def net_terms_for(session, merchant_id: str, company_id: str | None) -> int | None:
    """Days of net terms `merchant_id` grants `company_id`, or None (no grant: no invoice)."""
    if company_id is None or find_spec("marketplace.buyers.terms") is None:
        return None
    from marketplace.buyers import terms

    return terms.net_terms_for(session, merchant_id, company_id)
