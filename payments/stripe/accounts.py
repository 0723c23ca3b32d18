"""A connected account's state as Stripe last told it, and what that means for payouts.

Stripe opens an Express account at once but lets it take payouts only once its owner has
finished onboarding and Stripe has verified what it asks for, and it may restrict the account
again later (a document expired, a review). So the account being there says nothing: Connect
pays a merchant only while Stripe says `payouts_enabled` (payments.payouts.rails_of).

The state comes from two places, each of which may be late: the account read back from Stripe
when its owner returns from the account link (StripeProvider.refresh_account, timed by the
database clock as the read was asked), and the `account.updated` webhook (timed by the event's
`created`). News older than the state recorded changes nothing; the same second is taken as
newer, so a read and an event of one moment agree whichever lands last.
"""

from __future__ import annotations

from payments.stripe.models import StripeAccount

FIELDS = ("id", "object", "payouts_enabled", "charges_enabled", "details_submitted", "requirements", "metadata")


def record(account: StripeAccount, obj: dict, *, at: int) -> bool:
    """Record what the Account object `obj` says, unless the state recorded is newer than `at`
    (Stripe's Unix time of the news); whether it was recorded."""
    if at < (account.state_at or 0):  # a new row has no state_at until it is flushed
        return False
    requirements = obj.get("requirements") or {}
    account.payouts_enabled = bool(obj.get("payouts_enabled"))
    account.charges_enabled = bool(obj.get("charges_enabled"))
    account.details_submitted = bool(obj.get("details_submitted"))
    account.requirements_due = sorted({*(requirements.get("currently_due") or ()), *(requirements.get("past_due") or ())})
    account.disabled_reason = requirements.get("disabled_reason")
    account.state_at = at
    return True


def why_not_paid_out(account: StripeAccount | None) -> str | None:
    """Why Connect does not pay this account's merchant, in its words; None while it does."""
    if account is None:
        return "You have not connected a Stripe account yet."
    if account.payouts_enabled:
        return None
    due = f" Stripe still needs: {', '.join(account.requirements_due)}." if account.requirements_due else ""
    if not account.details_submitted:
        return "Your Stripe onboarding is not finished, so Stripe does not pay out to your account yet." + due
    reason = f" ({account.disabled_reason})" if account.disabled_reason else ""
    return f"Stripe has restricted payouts to your account{reason}." + due
