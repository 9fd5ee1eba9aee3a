"""Contact rows cleaned as `crm contacts add` cleans them, with the keys and search document the
importer matches and writes by. Nothing here touches the database or imports SQLAlchemy: a
worker process (importer.parallel) runs this while the main process writes.

A row is kept whenever something identifies a person (a name, an email or a phone): a value
that cannot be used (an invalid or placeholder email or phone, an unreadable date, a custom
field its declared type refuses) is left out of the record and noted in `Row.dropped`, which
the import report lists. Only a row with nothing identifying is rejected; `strict` rejects a
row for any value it would drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
from operator import attrgetter
from types import SimpleNamespace
from typing import Any

from crmcli.errors import Invalid, UsageError
from crmcli.importer import values
from crmcli.values import fieldtypes, when
from crmcli.values.documents import contact_document
from crmcli.values.normalize import (
    LINE_MAX,
    NAME_MAX,
    NOTES_MAX,
    check_length,
    clean_text,
    company_key,
    field_key,
    name_key,
    normalize_name,
    normalize_tag,
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

# (field, value as written, why it was left out): a value not taken into the record
Drop = tuple[str, str, str]


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
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    birthday: str | None = None
    website: str | None = None
    source_id: str | None = None  # the row's id in the file it came from (crm's own exports)
    company_ref: str | None = None  # the source system's id of the row's company
    is_org: bool = False  # a company's own card (vCard KIND:org): a company, not a person
    dropped: list[Drop] = field(default_factory=list)
    filled: list[Drop] = field(default_factory=list)  # values the row lacked, taken from elsewhere
    types: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # custom fields' types the row declares
    # computed where the row is cleaned (a worker process for big files), used where it is matched
    key: str = ""  # name_key(name)
    company_key: str = ""
    doc: str = ""  # the search document of a contact made from this row alone

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values (from the worker): a third of the default's cost to load."""
        return Row, _row_values(self)


_row_values = attrgetter(*(f.name for f in fields(Row)))
ADDRESS = ("street", "city", "region", "postcode", "country")


def full_name(name: str, first: str, middle: str, last: str, prefix: str = "", suffix: str = "") -> str:
    """The name column, else first (+ middle) + last; CJK family and given names join without a space."""
    if clean_text(name):
        return name
    if _CJK.search(first + last) and not middle:
        core = f"{last}{first}" if last and first else last or first
        return core
    return " ".join(p for p in (prefix, first, middle, last, suffix) if clean_text(p))


def parse_cadence(value: Any) -> int | None:
    """The `cadence` column, read as `crm contacts cadence` reads it (30, 30d, 2w, 3mo, off)."""
    try:
        return when.parse_cadence(values.text(value))
    except UsageError as exc:
        raise Invalid(str(exc)) from None


_TYPED = re.compile(r"^([^:]+?)(?::(\w+)(?:\((.*)\))?)?$")


def custom_pairs(cells: list[Any]) -> list[tuple[str, str | None, list[str], str]]:
    """crm's own vCards carry custom fields as lines "key=value", "key:type=value" or
    "key:choice(A|B)=value": (key, type, choices, value) each."""
    out = []
    for pair in (line for cell in cells for line in str(cell).splitlines()):
        key, sep, raw = pair.partition("=")
        if "(" in key and ")" not in key and ")=" in pair:  # a choice list may hold '='
            key, _, raw = pair.partition(")=")
            key += ")"
        m = _TYPED.match(key.strip())
        if sep and m and raw.strip():
            name, kind, choices = m.groups()
            out.append((name.strip(), kind, fieldtypes.split_choices(choices), raw))
    return out


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
        strict: bool = False,
        lines: bool = False,
        date_order: str | None = None,
    ) -> None:
        self.region = region
        self.split = _lines if lines else values.split  # vCards give one value a line; ';' may be in one
        self.dayfirst = dayfirst
        self.date_order = date_order or ("dmy" if dayfirst else "mdy")  # how 1/2/2027 reads
        # the declared custom fields as plain values (FieldDef rows belong to a session)
        self.defs = {n: SimpleNamespace(type=d.type, choices=list(d.choices or [])) for n, d in defs.items()}
        self.owner = owner
        self.source = source
        self.extra_tags = extra_tags
        self.strict = strict

    def clean(self, number: int, cells: dict[str, list[Any]]) -> Row:
        """One row as it would be stored, or Invalid naming why nothing of it can be."""
        dropped: list[Drop] = []

        def one(key: str) -> str:
            """The field's cells as one text (asked only of the fields read as text)."""
            found = cells.get(key)
            if found is None:  # most fields of most files
                return ""
            if len(found) == 1:
                return values.text(found[0])
            return " ".join(t for t in map(values.text, found) if t)

        def attempt(key: str, raw: Any, convert: Any) -> Any:
            """CONVERT(RAW), or None with the value noted as dropped."""
            try:
                return convert(raw)
            except Invalid as exc:
                dropped.append((key, values.text(raw), str(exc)))
                return None

        def text(key: str, limit: int = LINE_MAX) -> str | None:
            """A one-line field, cleaned; a value longer than crm keeps is left out and reported."""
            found = clean_text(one(key))
            return attempt(key, found, lambda t: check_length(t, key.replace("_", " "), limit)) if found else None

        name = clean_text(
            full_name(
                one("name"), one("first_name"), one("middle_name"), one("last_name"), one("prefix"), one("suffix")
            )
        )
        if len(name) > NAME_MAX:
            name = attempt("name", name, lambda t: check_length(t, "name", NAME_MAX)) or ""
        emails: list[str] = []
        for cell in cells.get("emails", ()):
            for part in self.split(cell):
                email = attempt("emails", part, values.email)
                if email and email not in emails:
                    emails.append(email)
        phones: list[str] = []
        for cell in cells.get("phones", ()):
            parts = [cell] if isinstance(cell, (int, float)) and not isinstance(cell, bool) else self.split(cell)
            for part in parts:
                phone = attempt("phones", part, lambda p: values.phone(p, self.region))
                if phone and phone not in phones:
                    phones.append(phone)
        filled: list[Drop] = []
        if not name:
            if not emails and not phones:
                why = "nothing identifies a person: no name, no usable email or phone"
                raise Invalid("; ".join([why, *(reason for _, _, reason in dropped)]))
            name = emails[0] if emails else phones[0]
            filled.append(("name", name, f"no name in the row: named after its {'email' if emails else 'phone'}"))
        tags = [normalize_tag(t) for cell in cells.get("tags", ()) for t in self.split(cell)]
        custom: dict[str, Any] = {}
        types: dict[str, tuple[str, list[str]]] = {}
        for key, kind, choices, raw in custom_pairs(cells.get("custom_pairs", [])):
            try:
                field_name = field_key(key)
            except Invalid as exc:
                dropped.append(("custom_pairs", f"{key}={raw}", str(exc)))
                continue
            definition = self.defs.get(field_name)
            if definition is None and kind:
                definition = SimpleNamespace(type=kind, choices=choices)
                types[field_name] = (kind, choices)
            value = attempt(f"custom.{field_name}", raw, partial(fieldtypes.coerce, definition, field_name))
            if value is not None:
                custom[field_name] = value
        for key in cells:
            if key.startswith("custom."):
                field_name = key[7:]
                raw = self._custom_text(field_name, cells[key])
                if raw:
                    value = attempt(key, raw, partial(fieldtypes.coerce, self.defs.get(field_name), field_name))
                    if value is not None:
                        custom[field_name] = value
        created = None
        if one("created_at"):
            created = attempt("created_at", cells["created_at"][0], lambda v: values.moment(v, order=self.date_order))
        cadence = attempt("cadence", one("cadence"), parse_cadence) if one("cadence") else None
        birthday = None
        if one("birthday"):
            birthday = attempt("birthday", _birthday_cell(cells["birthday"]), values.birthday)
        website = attempt("website", one("website"), values.website) if one("website") else None
        address: dict[str, str | None] = dict.fromkeys(ADDRESS)
        for key in ADDRESS:
            if key in cells:  # most files have no address: nothing to join
                address[key] = clean_text(", ".join(values.text(c) for c in cells[key])) or None
        if not address["street"] and one("address"):
            address["street"] = values.multiline(" ".join(values.text(c) for c in cells["address"]))
        notes = values.multiline(one_lines(cells.get("notes", ()))) or None
        if notes:
            notes = attempt("notes", notes, lambda t: check_length(t, "notes", NOTES_MAX))
        if dropped and self.strict:
            raise Invalid("; ".join(reason for _, _, reason in dropped))
        row = Row(
            number=number,
            name=normalize_name(name),
            emails=emails,
            phones=phones,
            title=text("title", NAME_MAX),
            company=text("company", NAME_MAX),
            tags=list(dict.fromkeys([*tags, *self.extra_tags])),
            owner=text("owner") or self.owner,
            source=text("source") or self.source,
            notes=notes,
            created_at=created,
            external_id=text("external_id"),
            cadence_days=cadence,
            custom=custom,
            birthday=birthday,
            website=website,
            source_id=clean_text(one("source_id")) or None,
            company_ref=first_ref(one("company_ref")),
            is_org=one("kind").casefold() in ("org", "organization", "organisation", "company", "group"),
            dropped=dropped,
            filled=filled,
            types=types,
            **address,
        )
        row.key, row.company_key = name_key(row.name), company_key(row.company)
        row.doc = contact_document(
            row.name, row.title, row.company, row.emails, row.phones, row.tags, row.notes, row.custom
        )
        return row

    def _custom_text(self, name: str, cells: list[Any]) -> str:
        """A custom field's cells as text; a spreadsheet's date cell is a date for a date field."""
        definition = self.defs.get(name)
        if definition is not None and definition.type == "date" and len(cells) == 1:
            return values.text(values.as_date(cells[0]))
        return " ".join(t for t in map(values.text, cells) if t)


def _lines(value: Any) -> list[str]:
    return [part for part in (clean_text(p) for p in values.text_lines(value).splitlines()) if part]


def first_ref(text: str) -> str | None:
    """A reference cell may hold several ids (HubSpot's "Associated Company IDs": 12;34): the first."""
    parts = values.split(text) if text else []
    return parts[0] if parts else None


def _birthday_cell(cells: list[Any]) -> Any:
    """The birthday, from one cell or from Thunderbird's Birth Year, Birth Month and Birth Day
    (empty cells are left out before this: two cells are month and day)."""
    if len(cells) == 1:
        return cells[0]
    parts = [values.text(c) for c in cells]
    if len(parts) == 2:
        return f"--{int(parts[0]):02d}-{int(parts[1]):02d}" if all(p.isdigit() for p in parts) else " ".join(parts)
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return " ".join(parts)


def one_lines(cells: Any) -> str:
    """Several cells of one field (notes) as one text, each on its own line."""
    return "\n".join(t for t in (values.text_lines(c) for c in cells) if t)
