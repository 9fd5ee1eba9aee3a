"""Custom fields: free key=value pairs, typed and validated once declared."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from crmcli.errors import Conflict, Hint, Invalid, NotFound
from crmcli.models import FieldDef
from crmcli.values.fieldtypes import coerce
from crmcli.values.normalize import clean_text, field_key

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


# Built-in fields of one kind of record only: a contact's address and birthday, a company's address
# and industry (a contact may still keep an "industry" of its own as a custom field, as the demo does).
RESERVED_FOR = {
    "contacts": {"street", "city", "region", "state", "postcode", "country", "birthday", "cadence", "cadence_days"},
    "companies": {"street", "city", "region", "state", "postcode", "country", "industry"},
    "deals": {"amount", "currency", "stage", "pipeline", "status", "close_date", "closed_at", "lost_reason"},
}


def reserved(entity: str) -> set[str]:
    """The names ENTITY's custom fields may not take."""
    return RESERVED | RESERVED_FOR.get(entity, set())


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise Invalid(f"unknown record type '{entity}': use one of {', '.join(ENTITIES)}")
    return entity


def add_field(
    session: Session, *, entity: str, name: str, type: str = "text", choices: list[str] | None = None
) -> FieldDef:
    entity = _entity(entity)
    key = field_key(name)
    if key in reserved(entity):
        raise Invalid(f"'{key}' is a built-in field of {entity}; choose another name")
    if type not in TYPES:
        raise Invalid(f"unknown field type '{type}': use one of {', '.join(TYPES)}")
    options = [clean_text(c) for c in (choices or []) if clean_text(c)]
    if type == "choice" and not options:
        raise Invalid(
            "a choice field needs a list of choices",
            hint=Hint("a choice field needs {choices}, e.g. {choices} SaaS,Retail", form="{hint}"),
        )
    if type != "choice" and options:
        raise Invalid(
            f"a {type} field has no choices: only a choice field has",
            hint=Hint("{choices} goes with {type} choice", form="{hint}"),
        )
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
        if key in reserved(entity):
            instead = Hint("use its own option instead of {custom}", form="{message}; {hint}")
            raise Invalid(f"'{key}' is a built-in field", hint=instead)
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
