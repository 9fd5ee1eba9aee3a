"""Query pieces shared by the list commands: custom-field filters and --sort."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmcli.domain import fields
from crmcli.errors import Invalid, UsageError

# How many custom keys an "unknown field" message names at most.
_SHOWN_KEYS = 30


def where_clauses(
    session: Any,
    model: Any,
    entity: str,
    items: list[str] | None,
    builtin: Mapping[str, Callable[[str], Any]],
) -> list[Any]:
    """--where FIELD=VALUE filters as query clauses, one each. FIELD is one of the BUILTIN fields
    (each builds its clause from the raw value), or a custom field: a declared one, or a key that at
    least one of the records keeps. Anything else is refused (UsageError, exit 2) naming the fields
    there are, and so is a value the field cannot hold (a number field and 'abc', a bad email): a
    filter that could match nothing because of a typo says so rather than list nothing."""
    try:
        pairs = fields.parse_assignments(items)
    except Invalid as exc:
        raise UsageError(f"{exc}: a filter is FIELD=VALUE") from None
    clauses = []
    for key, raw in pairs.items():
        build = builtin.get(key)
        if build is None:
            declared = fields.field_defs(session, entity)
            if key not in declared and not _kept(session, model, key):
                raise UsageError(_unknown(session, model, entity, key, builtin, declared))

            def build(value: str, key: str = key) -> Any:
                return where_custom(session, model, entity, key, value)

        try:
            clauses.append(build(raw))
        except Invalid as exc:
            reason = str(exc).removeprefix(f"field {key}: ")
            raise UsageError(f"cannot filter {entity} by {key}: {reason}") from None
    return clauses


def _kept(session: Any, model: Any, key: str) -> bool:
    """Some record of MODEL keeps the custom field KEY."""
    from sqlalchemy import select

    query = select(model.id).where(model.custom[key].as_string().is_not(None)).limit(1)
    return session.execute(query).first() is not None


def custom_keys(session: Any, model: Any) -> list[str]:
    """The custom keys MODEL's records keep, sorted (at most _SHOWN_KEYS + 1 of them)."""
    from sqlalchemy import text

    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        sql = f"SELECT DISTINCT jsonb_object_keys(custom) AS k FROM {table} ORDER BY k LIMIT :n"
    else:
        sql = f"SELECT DISTINCT j.key AS k FROM {table}, json_each({table}.custom) AS j ORDER BY k LIMIT :n"
    return [row[0] for row in session.execute(text(sql), {"n": _SHOWN_KEYS + 1})]


def _unknown(
    session: Any, model: Any, entity: str, key: str, builtin: Mapping[str, Any], declared: Mapping[str, Any]
) -> str:
    custom = sorted(set(declared) | set(custom_keys(session, model)))
    shown = ", ".join(custom[:_SHOWN_KEYS]) + (" …" if len(custom) > _SHOWN_KEYS else "")
    told = f"{entity} have no field '{key}': fields are {', '.join(builtin)}"
    return told + (f"; custom fields: {shown}" if custom else "; no custom fields")


def where_custom(session: Any, model: Any, entity: str, key: str, raw: str) -> Any:
    """model.custom[key] == RAW, with RAW read as the declared field type would store it."""
    definition = fields.field_defs(session, entity).get(key)
    value = fields.coerce(definition, key, raw)
    column = model.custom[key]
    if isinstance(value, bool):
        return column.as_boolean() == value
    return column.as_string() == value


def apply_sort(query: Any, columns: dict[str, Any], sort: str, tiebreak: Any) -> Any:
    """'name', '-created' (newest first) … against the allowed COLUMNS; empty values sort last."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in columns:
        raise Invalid(f"cannot sort by '{key}': use one of {', '.join(columns)} (prefix - for descending)")
    column = columns[key]
    return query.order_by((column.desc() if descending else column.asc()).nulls_last(), tiebreak)
