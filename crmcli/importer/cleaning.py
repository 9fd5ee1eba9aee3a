"""Contact rows cleaned as `crm contacts add` cleans them, with the keys and search document the
importer matches and writes by. Nothing here touches the database or imports SQLAlchemy: a
worker process (importer.parallel) runs this while the main process writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from types import SimpleNamespace
from typing import Any

from crmcli import fieldtypes, when
from crmcli.documents import contact_document
from crmcli.errors import Invalid, UsageError
from crmcli.importer import values
from crmcli.normalize import clean_text, company_key, field_key, name_key, normalize_name, normalize_tag

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@dataclass
class Row:
    number: int
    name: str
    emails: list[str]
    phones: list[str]
    title: str | None = None
    company: str | None = None
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    source: str | None = None
    notes: str | None = None
    created_at: datetime | None = None
    external_id: str | None = None
    cadence_days: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    # computed where the row is cleaned (a worker process for big files), used where it is matched
    key: str = ""  # name_key(name)
    company_key: str = ""
    doc: str = ""  # the search document of a contact made from this row alone

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values (from the worker): a third of the default's cost to load."""
        return Row, _row_values(self)


_row_values = attrgetter(*(f.name for f in fields(Row)))


def full_name(name: str, first: str, middle: str, last: str) -> str:
    """The name column, else first (+ middle) + last; CJK family and given names join without a space."""
    if clean_text(name):
        return name
    if _CJK.search(first + last) and not middle:
        return f"{last}{first}" if last and first else last or first
    return " ".join(p for p in (first, middle, last) if clean_text(p))


def parse_cadence(value: Any) -> int | None:
    """The `cadence` column, read as `crm contacts cadence` reads it (30, 30d, 2w, 3mo, off);
    what it cannot read rejects the row."""
    try:
        return when.parse_cadence(values.text(value))
    except UsageError as exc:
        raise Invalid(str(exc)) from None


class ContactCleaner:
    """Rows cleaned as `crm contacts add` cleans them. It needs no database, so it is picklable
    and can run in a worker process (importer.parallel)."""

    def __init__(
        self,
        *,
        region: str,
        dayfirst: bool,
        defs: dict[str, Any],
        owner: str | None,
        source: str | None,
        extra_tags: list[str],
    ) -> None:
        self.region = region
        self.dayfirst = dayfirst
        # the declared custom fields as plain values (FieldDef rows belong to a session)
        self.defs = {n: SimpleNamespace(type=d.type, choices=list(d.choices or [])) for n, d in defs.items()}
        self.owner = owner
        self.source = source
        self.extra_tags = extra_tags

    def clean(self, number: int, cells: dict[str, list[Any]]) -> Row:
        """One row as it would be stored, or Invalid naming what is wrong."""

        def one(key: str) -> str:
            """The field's cells as one text (asked only of the fields read as text)."""
            return " ".join(t for t in map(values.text, cells.get(key, ())) if t)

        name = full_name(one("name"), one("first_name"), one("middle_name"), one("last_name"))
        if not clean_text(name):
            raise Invalid("missing name")
        emails: list[str] = []
        for cell in cells.get("emails", []):
            emails.extend(e for e in values.emails(cell) if e not in emails)
        phones: list[str] = []
        for cell in cells.get("phones", []):
            phones.extend(p for p in values.phones(cell, self.region) if p not in phones)
        tags = [normalize_tag(t) for cell in cells.get("tags", []) for t in values.split(cell)]
        custom: dict[str, Any] = {}
        for pair in (line for cell in cells.get("custom_pairs", []) for line in str(cell).splitlines()):
            key, sep, raw = pair.partition("=")
            if sep and key.strip() and raw.strip():
                field = field_key(key)
                custom[field] = fieldtypes.coerce(self.defs.get(field), field, raw)
        for key in cells:
            if key.startswith("custom."):
                raw = one(key)
                if raw:
                    name_ = key[7:]
                    custom[name_] = fieldtypes.coerce(self.defs.get(name_), name_, raw)
        created = values.moment(cells["created_at"][0], dayfirst=self.dayfirst) if one("created_at") else None
        row = Row(
            number=number,
            name=normalize_name(name),
            emails=emails,
            phones=phones,
            title=clean_text(one("title")) or None,
            company=clean_text(one("company")) or None,
            tags=list(dict.fromkeys([*tags, *self.extra_tags])),
            owner=clean_text(one("owner")) or self.owner,
            source=clean_text(one("source")) or self.source,
            notes=clean_text(one("notes")) or None,
            created_at=created,
            external_id=clean_text(one("external_id")) or None,
            cadence_days=parse_cadence(one("cadence")),
            custom=custom,
        )
        row.key, row.company_key = name_key(row.name), company_key(row.company)
        row.doc = contact_document(
            row.name, row.title, row.company, row.emails, row.phones, row.tags, row.notes, row.custom
        )
        return row
