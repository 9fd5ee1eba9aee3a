"""Money, exactly: amounts are integers in the currency's minor unit (cents, yen, fils).

Babel knows ISO 4217: which codes exist, how many decimals each has, how to print them.

An amount is at most MAX_MINOR (10^15) minor units: 10 trillion EUR or USD, a quadrillion yen.
A deal's amount is a 64-bit integer, and the board, the KPIs and the reports add up the amounts
of a whole database (weighted by probability too) in 64-bit sums: with this limit those sums stay
exact for thousands of deals at the maximum, where one amount near 2^63 broke them all.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from crmcli.errors import Invalid

MAX_MINOR = 10**15  # minor units (cents): the largest amount a deal may have


def currency_code(value: str) -> str:
    from babel.numbers import list_currencies

    code = (value or "").strip().upper()
    if code not in list_currencies():
        raise Invalid(f"unknown currency '{value}': use an ISO 4217 code such as EUR, USD, CNY")
    return code


def digits(currency: str) -> int:
    from babel.numbers import get_currency_precision

    return get_currency_precision(currency)


def parse_amount(text: str | int | Decimal, currency: str) -> int:
    """'12000', '12,000.50', '0.1' → minor units; more decimals than the currency has is refused."""
    raw = str(text).strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")  # 12,000.50 (thousands separators)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Invalid(f"invalid amount '{text}': use a number such as 12000 or 1999.99") from None
    if not value.is_finite():
        raise Invalid(f"invalid amount '{text}'")
    if value < 0:
        raise Invalid(f"invalid amount '{text}': must not be negative")
    places = digits(currency)
    largest = Decimal(MAX_MINOR).scaleb(-places)
    if value > largest:  # before scaling: '1e999999' would overflow, or make a million-digit integer
        raise Invalid(f"invalid amount '{text}': at most {largest:,f} {currency}")
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise Invalid(f"invalid amount '{text}': {currency} has {places} decimal places")
    return int(minor)


def to_decimal(minor: int | None, currency: str) -> Decimal | None:
    if minor is None:
        return None
    return Decimal(minor).scaleb(-digits(currency))


def format_money(amount: Decimal | None, currency: str) -> str:
    """Decimal('12000.00'), 'EUR' → '€12,000.00', for people."""
    if amount is None:
        return ""
    from babel.numbers import format_currency

    return format_currency(amount, currency, locale="en_US")
