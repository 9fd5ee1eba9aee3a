"""Exchange rates the user keeps, so that a money target in one currency counts wins in others.

A rate says what one unit of a currency is worth in the base currency: the config currency
(`crm config get currency`) when the rate was set. With currency EUR, `crm config rates set USD
0.92` means 1 USD = 0.92 EUR. Each rate remembers its base, so changing the config currency
later does not change what the stored rates mean.

Converting goes along the stored rates, either way: USD → EUR multiplies by 0.92, EUR → USD
divides by it, and USD → GBP goes through EUR when both have a rate against it. The arithmetic is
exact (fractions); a sum is rounded once, at the end, half to even, to the target currency's
minor unit. An amount in a currency with no path to the target is never counted as 0: it is
returned as not converted, for the caller to show.

Rates are stored in the settings table as `rate.USD` = `0.92 EUR`, so a team on one PostgreSQL
shares them like the other settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select

from crmcli.domain import settings
from crmcli.errors import Invalid, NotFound
from crmcli.models import Setting
from crmcli.values.money import currency_code, digits

PREFIX = "rate."
MAX_RATE = Decimal(10**9)
MAX_PLACES = 12  # decimal places a rate may have: 0.000000057 IDR→EUR fits


def parse_rate(text: str | Decimal, currency: str = "") -> Decimal:
    """'0.92' → Decimal('0.92'): a positive number of at most 12 decimal places, 1,000,000,000 at most."""
    raw = str(text).strip().replace("_", "")
    about = f" for {currency}" if currency else ""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        hint = " (a decimal point, not a comma)" if re.fullmatch(r"\d+,\d+", raw) else ""
        raise Invalid(f"invalid rate '{text}'{about}: use a number such as 0.92{hint}") from None
    if not value.is_finite() or value <= 0:
        raise Invalid(f"invalid rate '{text}'{about}: it must be a number above 0")
    if value > MAX_RATE:
        raise Invalid(f"invalid rate '{text}'{about}: at most {MAX_RATE:,}")
    value = value.normalize()
    if -value.as_tuple().exponent > MAX_PLACES:  # type: ignore[operator]
        raise Invalid(f"invalid rate '{text}'{about}: at most {MAX_PLACES} decimal places")
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def base_currency(session: Session) -> str:
    return settings.get(session, "currency") or "EUR"


def _record(currency: str, stored: str) -> dict[str, Any]:
    rate, _sep, base = stored.partition(" ")
    return {"currency": currency, "rate": Decimal(rate), "base": base}


def load(session: Session) -> dict[str, dict[str, Any]]:
    """Every stored rate: {'USD': {'currency': 'USD', 'rate': Decimal('0.92'), 'base': 'EUR'}}."""
    rows = session.exec(select(Setting).where(col(Setting.key).startswith(PREFIX)))
    return {r.key[len(PREFIX) :]: _record(r.key[len(PREFIX) :], r.value) for r in rows}


def list_rates(session: Session) -> list[dict[str, Any]]:
    return [rate for _code, rate in sorted(load(session).items())]


def set_rate(session: Session, currency: str, rate: str | Decimal) -> dict[str, Any]:
    """1 CURRENCY = RATE units of the base currency (the config currency); replaces an earlier rate."""
    code = currency_code(currency)
    base = base_currency(session)
    if code == base:
        raise Invalid(f"{code} is the base currency (config currency): its rate is 1")
    value = parse_rate(rate, code)
    stored = f"{value:f} {base}"  # 0.000000057, not 5.7E-8
    row = session.get(Setting, PREFIX + code)
    if row is None:
        session.add(Setting(key=PREFIX + code, value=stored))
    else:
        row.value = stored
        session.add(row)
    session.flush()
    return _record(code, stored)


def remove_rate(session: Session, currency: str) -> dict[str, Any]:
    code = currency_code(currency)
    row = session.get(Setting, PREFIX + code)
    if row is None:
        raise NotFound(f"no rate for {code} (crm config rates list shows them)")
    record = _record(code, row.value)
    session.delete(row)
    session.flush()
    return record


def parse_rates_file(text: str) -> list[tuple[str, Decimal]]:
    """CSV lines 'currency,rate' (comma, semicolon or tab; a header line, blank lines and # comments
    are skipped) → [(code, rate)]. Any bad line is refused, naming its line number."""
    found: dict[str, tuple[str, Decimal]] = {}
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        cells = [c.strip().strip('"') for c in re.split(r"[,;\t]", line.strip())]
        if not cells[0] or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in ("currency", "code") and len(cells) == 2:
            continue
        if len(cells) != 2:
            raise Invalid(
                f"rates file line {number}: expected 'currency,rate' (such as USD,0.92), got {len(cells)} cells"
            )
        try:
            code = currency_code(cells[0])
            value = parse_rate(cells[1], code)
        except Invalid as e:
            raise Invalid(f"rates file line {number}: {e}") from None
        if code in found:
            raise Invalid(f"rates file line {number}: {code} is given twice")
        found[code] = (code, value)
    if not found:
        raise Invalid("the rates file has no rates: one 'currency,rate' line each, such as USD,0.92")
    return list(found.values())


def import_rates(session: Session, text: str) -> list[dict[str, Any]]:
    """Set every rate of a rates file (all or none: a bad line stores nothing)."""
    return [set_rate(session, code, value) for code, value in parse_rates_file(text)]


# ---------------------------------------------------------------- converting


def factor(rates: Mapping[str, Mapping[str, Any]], source: str, target: str) -> Fraction | None:
    """How many TARGET one SOURCE is worth along the stored rates (exact), or None without a path."""
    if source == target:
        return Fraction(1)
    edges: dict[str, list[tuple[str, Fraction]]] = {}
    for code, r in sorted(rates.items()):
        rate = Fraction(r["rate"])
        edges.setdefault(code, []).append((r["base"], rate))
        edges.setdefault(r["base"], []).append((code, 1 / rate))
    reached = {source: Fraction(1)}
    frontier = [source]
    while frontier:  # breadth first: the fewest steps, so the fewest rates involved
        following = []
        for code in frontier:
            for other, rate in edges.get(code, []):
                if other not in reached:
                    reached[other] = reached[code] * rate
                    following.append(other)
        if target in reached:
            return reached[target]
        frontier = following
    return None


def convert(
    amounts: Mapping[str, Decimal], target: str, rates: Mapping[str, Mapping[str, Any]], base: str | None = None
) -> dict[str, Any]:
    """AMOUNTS per currency as one sum in TARGET: {'value': Decimal, 'converted': {code: amount},
    'unconverted': {code: amount}, 'missing_rates': [code]} — value holds only what could be
    converted, rounded half to even to TARGET's minor unit once, after adding up exactly;
    missing_rates are the currencies whose rate against BASE would convert the rest."""
    total = Fraction(0)
    converted: dict[str, Decimal] = {}
    unconverted: dict[str, Decimal] = {}
    for code, amount in sorted(amounts.items()):
        if not amount:
            continue
        rate = factor(rates, code, target)
        if rate is None:
            unconverted[code] = amount
            continue
        converted[code] = amount
        total += Fraction(amount) * rate
    places = digits(target)
    minor = round(total * 10**places)  # Fraction rounds half to even
    if base is None:
        missing = list(unconverted)
    else:  # a currency lacks a rate when it has no path to the base (the target may be the one)
        needed = {*unconverted, target} if unconverted else set()
        missing = [code for code in needed if code != base and factor(rates, code, base) is None]
    return {
        "value": Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)),
        "converted": converted,
        "unconverted": unconverted,
        "missing_rates": sorted(missing),
    }


def converted_value(session: Session, amounts: Mapping[str, Decimal], target: str) -> dict[str, Any]:
    """convert() with the stored rates and the config currency as base."""
    return convert(amounts, target, load(session), base_currency(session))
