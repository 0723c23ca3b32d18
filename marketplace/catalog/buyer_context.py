"""Who is looking at the catalog: the one place the buyers' catalog learns it.

Everything the buyers' catalog shows that depends on the caller (language, country for
ships-to, display currency, a company's contract prices and B2B-only products) comes from
the BuyerContext that `buyer_context` builds, so the signed-in buyer can be wired in here
once, without touching the views or the service.

An anonymous caller says where it is and what it reads with query parameters (`country`,
`currency`, `lang`) and Accept-Language; it is never a company, whatever it sends. A
signed-in buyer's own country, currency and company will come from `signed_in_buyer` (the
seam below); parameters the caller sends still win for country, currency and language, so a
Jamaican buyer travelling in Aruba can ask for AWG.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.buyers.principal import current_buyer
from marketplace.storefront.i18n import LANGUAGES, visitor_languages


@dataclass(frozen=True)
class BuyerContext:
    country: str | None = None  # ISO 3166-1 alpha-2; None: unknown, so ships-to is not answered
    currency: str | None = None  # display currency; None: the member state's, else the merchant's
    languages: tuple[str, ...] = ()  # wanted, best first (lang, then Accept-Language by q-value)
    company_id: str | None = None  # a signed-in company buyer's company (cmp_...), else None


@dataclass(frozen=True)
class SignedInBuyer:
    """What the catalog needs of a signed-in buyer (H5's principal will provide these)."""
    country: str
    currency: str | None
    language: str | None
    company_id: str | None


def signed_in_buyer() -> SignedInBuyer | None:
    """The buyer the request's credentials name, or None for an anonymous caller. A buyer
    token that is invalid or expired is a 401 (current_buyer), never an anonymous caller."""
    buyer = current_buyer()
    return buyer and SignedInBuyer(buyer.country, buyer.currency, buyer.language, buyer.company_id)


def buyer_context(*, country: str | None = None, currency: str | None = None, lang: str | None = None) -> BuyerContext:
    """The caller, from validated query parameters, Accept-Language and the signed-in buyer."""
    buyer = signed_in_buyer()
    languages = _wanted_languages(lang, buyer.language if buyer else None)
    if buyer is None:
        return BuyerContext(country=country, currency=currency, languages=languages)
    return BuyerContext(country=country or buyer.country, currency=currency or buyer.currency,
                        languages=languages, company_id=buyer.company_id)


def _wanted_languages(lang: str | None, profile_language: str | None) -> tuple[str, ...]:
    """`lang`, then Accept-Language by q-value (the storefront's own negotiation, which reads
    the same `lang` parameter), then the signed-in buyer's profile language."""
    wanted = visitor_languages()
    if lang in LANGUAGES and lang not in wanted:  # lang was validated; visitor_languages read it too
        wanted.insert(0, lang)
    if profile_language in LANGUAGES and profile_language not in wanted:
        wanted.append(profile_language)
    return tuple(wanted)
