"""The code lists the API schemas accept, as validators: ISO 3166-1 countries (pycountry, as
regionmap.is_iso_country reads them) and ISO 4217 currencies (Babel, as money.is_currency
does). A pattern such as ^[A-Z]{2}$ would let a client send "AA" and learn only from a 422
what the document could have said: as enums they are in the OpenAPI document."""

from __future__ import annotations

import pycountry
from babel.numbers import list_currencies
from marshmallow import validate

ISO_COUNTRY = validate.OneOf(sorted(country.alpha_2 for country in pycountry.countries),
                             error="an ISO 3166-1 alpha-2 country code")
ISO_CURRENCY = validate.OneOf(sorted(list_currencies()), error="an ISO 4217 currency code")
