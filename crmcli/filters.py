"""Query pieces shared by the list commands: custom-field filters and --sort."""

from __future__ import annotations

from typing import Any

from crmcli import fields
from crmcli.errors import Invalid


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
