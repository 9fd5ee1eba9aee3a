"""Custom-field values as their declared type stores them. No database here: the importer's worker
process coerces values without importing SQLAlchemy."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from crmcli.errors import Invalid
from crmcli.values.normalize import clean_text, normalize_email

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def coerce(definition: Any, name: str, raw: str) -> Any:
    """RAW as the field's type would store it (DEFINITION: a FieldDef, or anything with .type and
    .choices; None for undeclared fields, which keep the cleaned text)."""
    value = clean_text(raw)
    kind = definition.type if definition else "text"
    if kind == "text":
        return value
    if kind == "number":
        try:
            number = Decimal(value.replace(",", "") if re.fullmatch(r"-?[\d,]+(\.\d+)?", value) else value)
        except InvalidOperation:
            raise Invalid(f"field {name}: '{raw}' is not a number") from None
        if not number.is_finite():
            raise Invalid(f"field {name}: '{raw}' is not a number")
        return format(number.normalize(), "f") if number != number.to_integral() else str(int(number))
    if kind == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise Invalid(f"field {name}: '{raw}' is not a date (use YYYY-MM-DD)") from None
    if kind == "bool":
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise Invalid(f"field {name}: '{raw}' is not yes/no")
    if kind == "choice":
        assert definition is not None
        for choice in definition.choices:
            if choice.casefold() == value.casefold():
                return choice
        raise Invalid(f"field {name}: '{raw}' is not one of {', '.join(definition.choices)}")
    if kind == "email":
        try:
            return normalize_email(value)
        except Invalid as exc:
            raise Invalid(f"field {name}: {exc}") from None
    if kind == "url":
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
            raise Invalid(f"field {name}: '{raw}' is not a web address (https://…)")
        return value
    raise Invalid(f"field {name}: unknown type {kind}")


def split_choices(text: str | None) -> list[str]:
    """'Gold|Silver|A\\|B' → ['Gold', 'Silver', 'A|B']: the choices of a typed export column
    (custom.tier:choice(…)), where | and backslash inside a choice carry a backslash."""
    out: list[str] = []
    current: list[str] = []
    chars = iter(text or "")
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == "|":
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return [c.strip() for c in out if c.strip()]
