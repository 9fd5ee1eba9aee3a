"""Custom fields: free key=value pairs, typed and validated once declared."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from crmcli.errors import Conflict, Invalid, NotFound
from crmcli.models import FieldDef
from crmcli.normalize import clean_text, field_key

ENTITIES = ("contacts", "companies", "deals")
TYPES = ("text", "number", "date", "bool", "choice", "email", "url")
# Names a custom field may not take, because --where and output already mean them.
RESERVED = {
    "id",
    "name",
    "title",
    "company",
    "company_id",
    "owner",
    "source",
    "notes",
    "tags",
    "tag",
    "email",
    "emails",
    "phone",
    "phones",
    "created_at",
    "updated_at",
    "domain",
    "website",
    "custom",
}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise Invalid(f"unknown record type '{entity}': use one of {', '.join(ENTITIES)}")
    return entity


def add_field(
    session: Session, *, entity: str, name: str, type: str = "text", choices: list[str] | None = None
) -> FieldDef:
    entity = _entity(entity)
    key = field_key(name)
    if key in RESERVED:
        raise Invalid(f"'{key}' is a built-in field of {entity}; choose another name")
    if type not in TYPES:
        raise Invalid(f"unknown field type '{type}': use one of {', '.join(TYPES)}")
    options = [clean_text(c) for c in (choices or []) if clean_text(c)]
    if type == "choice" and not options:
        raise Invalid("a choice field needs --choices, e.g. --choices SaaS,Retail")
    if type != "choice" and options:
        raise Invalid("--choices goes with --type choice")
    existing = session.exec(select(FieldDef).where(FieldDef.entity == entity, FieldDef.name == key)).first()
    if existing is not None:
        raise Conflict(f"{entity} already have a field '{key}' ({existing.type})")
    definition = FieldDef(entity=entity, name=key, type=type, choices=options)
    session.add(definition)
    session.flush()
    return definition


def list_fields(session: Session, entity: str | None = None) -> list[FieldDef]:
    query = select(FieldDef).order_by(FieldDef.entity, FieldDef.name)
    if entity:
        query = query.where(FieldDef.entity == _entity(entity))
    return list(session.exec(query))


def remove_field(session: Session, *, entity: str, name: str) -> None:
    key = field_key(name)
    definition = session.exec(select(FieldDef).where(FieldDef.entity == _entity(entity), FieldDef.name == key)).first()
    if definition is None:
        raise NotFound(f"{entity} have no declared field '{key}'")
    session.delete(definition)
    session.flush()


def field_defs(session: Session, entity: str) -> dict[str, FieldDef]:
    return {d.name: d for d in session.exec(select(FieldDef).where(FieldDef.entity == entity))}


def coerce(definition: FieldDef | None, name: str, raw: str) -> Any:
    """RAW as the field's type would store it; undeclared fields keep the cleaned text."""
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
        from crmcli.normalize import normalize_email

        try:
            return normalize_email(value)
        except Invalid as exc:
            raise Invalid(f"field {name}: {exc}") from None
    if kind == "url":
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
            raise Invalid(f"field {name}: '{raw}' is not a web address (https://…)")
        return value
    raise Invalid(f"field {name}: unknown type {kind}")


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """['industry=SaaS', 'size = 50'] → {'industry': 'SaaS', 'size': '50'}."""
    out: dict[str, str] = {}
    for item in items or ():
        if "=" not in item:
            raise Invalid(f"'{item}' is not key=value")
        key, value = item.split("=", 1)
        out[field_key(key)] = value
    return out


def validate(session: Session, entity: str, values: dict[str, str]) -> dict[str, Any]:
    """Typed values for VALUES; an empty value means 'remove this field' (returned as None)."""
    defs = field_defs(session, entity)
    out: dict[str, Any] = {}
    for name, raw in values.items():
        key = field_key(name)
        if key in RESERVED:
            raise Invalid(f"'{key}' is a built-in field; use its own option instead of --field")
        out[key] = None if clean_text(raw) == "" else coerce(defs.get(key), key, raw)
    return out


def apply(custom: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(custom or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return dict(sorted(merged.items()))
