"""crm export: contacts, companies, deals, activities and follow-ups to CSV, XLSX, JSON or vCard.

The rows are those of the list functions (list_contacts, list_companies, list_deals,
list_followups, and activity_rows here), so a file's headers are exactly the keys of the
records `crm … list -f json` prints, custom fields flattened to custom.KEY: crm's importer
recognises its own headers, and export then import gives the same records. A declared custom
field that is not text says its type in the header, so an import into an empty database
declares it again: custom.KEY:number, custom.KEY:date, custom.KEY:bool, custom.KEY:email,
custom.KEY:url, custom.KEY:choice(A|B|C) (inside a choice, | and backslash get a backslash).

- CSV: UTF-8 with a BOM (Excel then reads UTF-8; `bom=False` leaves it out), RFC 4180 CRLF
  lines, lists joined with "; ", times ISO 8601 UTC with Z, amounts as exact decimals.
- XLSX: typed cells (times and dates as Excel dates, in UTC; amounts, ids and numeric custom
  fields as numbers; yes/no as booleans), a bold, frozen header row and an autofilter.
- JSON: what `-f json` of the list prints, except that a declared field whose type JSON's values
  do not say is typed in its key in the custom object, as in the CSV header: {"seats:number":
  "25", "tier:choice(Gold|Silver)": "Gold"}. A yes/no field is JSON's true or false and keeps its key.
- vCard 3.0 (contacts only; a company never becomes a card): FN, N, EMAIL and TEL with TYPE
  (the primary one PREF), ORG, TITLE, NOTE, CATEGORIES (tags), ADR;TYPE=WORK (street, city,
  region, postcode, country), BDAY (1985-04-15, or --04-15 without the year), URL, UID
  (external id), REV, and X-CRM-ID (crm's id, as the id column of CSV), X-CRM-OWNER,
  X-CRM-SOURCE, X-CRM-CREATED, X-CRM-CADENCE (keep in touch every N days), X-CRM-FIELD (one per
  custom field: key=value, or key:type=value for a declared field that is not text). Text values
  have their semicolons, commas, backslashes and line breaks escaped as RFC 6350 says.

Formula injection: in CSV and XLSX a text cell that starts with = + - @, a tab or a carriage
return gets a leading apostrophe, unless the whole cell is a plain number (a phone in E.164,
+4915112345678, or -5, stays as it is: a spreadsheet reads those as numbers, not formulas).
A text that already starts with apostrophes before such a character gets one more, so
`unneutralize` gives back exactly what was written. openpyxl and vobject are imported only here,
and only when that format is written.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crmcli.errors import Hint, Invalid, UsageError
from crmcli.values.cells import neutralize
from crmcli.values.clock import iso_utc as _iso_utc

KINDS = ("contacts", "companies", "deals", "activities", "followups")
FORMATS = ("csv", "xlsx", "json", "vcf")
EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".vcf": "vcf", ".vcard": "vcf"}
FIELD_ENTITY = {"contacts": "contacts", "companies": "companies", "deals": "deals"}

# The keys of each kind's records, for the header of an export with no rows.
HEADERS = {
    "contacts": ["id", "name", "title", "company", "company_id", "email", "emails", "phone", "phones", "tags",
                 "owner", "source", "last_touch", "notes", "external_id", "created_at", "updated_at", "street", "city",
                 "region", "postcode", "country", "birthday", "website", "cadence_days"],
    "companies": ["id", "name", "domain", "phone", "website", "tags", "owner", "source", "people", "notes",
                  "external_id", "created_at", "updated_at", "street", "city", "region", "postcode", "country",
                  "industry"],
    "deals": ["id", "title", "pipeline", "stage", "status", "probability", "amount", "currency", "weighted", "contact",
              "contact_id", "company", "company_id", "close_date", "owner", "source", "days_in_stage", "stalled",
              "closed_at", "lost_reason", "notes", "external_id", "created_at", "updated_at"],
    "activities": ["id", "at", "type", "text", "by", "contact", "contact_id", "company", "company_id", "deal",
                   "deal_id"],
    "followups": ["id", "kind", "due_at", "relative", "status", "subject_kind", "subject", "note", "owner", "every",
                  "from_done", "origin", "contact_id", "company_id", "deal_id", "uid", "done_at", "created_at",
                  "updated_at"],
}  # fmt: skip
MONEY_KEYS = {"amount", "weighted"}

# ---------------------------------------------------------------- formula injection

# ---------------------------------------------------------------- rows


def activity_rows(
    session: Any,
    *,
    contact: str | None = None,
    company: str | None = None,
    deal: str | None = None,
    type: str | None = None,
    by: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Activities, oldest first, each naming its contact (primary email, else name), company
    (name) and deal (title), the way `crm log` and the importer take them. COMPANY includes
    the activity of its people."""
    from sqlalchemy import or_, select

    from crmcli.domain.activities import TYPES
    from crmcli.models import Activity, Company, Contact, ContactEmail, Deal

    email = (
        select(ContactEmail.email)
        .where(ContactEmail.contact_id == Activity.contact_id)
        .order_by(ContactEmail.is_primary.desc(), ContactEmail.id)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Activity, Contact.name, email, Company.name, Deal.title)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .outerjoin(Company, Company.id == Activity.company_id)
        .outerjoin(Deal, Deal.id == Activity.deal_id)
    )
    if contact:
        from crmcli.domain.lookup import resolve_contact

        query = query.where(Activity.contact_id == resolve_contact(session, contact).id)
    if company:
        from crmcli.domain.lookup import resolve_company

        company_id = resolve_company(session, company).id
        people = select(Contact.id).where(Contact.company_id == company_id)
        query = query.where(or_(Activity.company_id == company_id, Activity.contact_id.in_(people)))
    if deal:
        from crmcli.domain.lookup import resolve_deal

        query = query.where(Activity.deal_id == resolve_deal(session, deal).id)
    if type:
        if type not in TYPES:
            raise Invalid(f"unknown activity type '{type}': use one of {', '.join(TYPES)}")
        query = query.where(Activity.type == type)
    if by:
        query = query.where(Activity.by == by)
    if since:
        from crmcli.values.when import parse_past

        query = query.where(Activity.at >= parse_past(since))
    query = query.order_by(Activity.at, Activity.id)
    if limit:
        query = query.limit(limit)
    return [
        {
            "id": a.id,
            "at": a.at,
            "type": a.type,
            "text": a.text,
            "by": a.by,
            "contact": contact_email or contact_name,
            "contact_id": a.contact_id,
            "company": company_name,
            "company_id": a.company_id,
            "deal": deal_title,
            "deal_id": a.deal_id,
        }
        for a, contact_name, contact_email, company_name, deal_title in session.execute(query)
    ]


def rows(session: Any, kind: str, **filters: Any) -> list[dict[str, Any]]:
    """KIND's records as the list functions give them, with the list commands' filters."""
    if kind == "contacts":
        from crmcli.domain.contacts import list_contacts

        return list_contacts(session, **filters)
    if kind == "companies":
        from crmcli.domain.companies import list_companies

        return list_companies(session, **filters)
    if kind == "deals":
        from crmcli.domain.deals import list_deals

        return list_deals(session, **filters)
    if kind == "activities":
        return activity_rows(session, **filters)
    if kind == "followups":
        from crmcli.domain.followups import list_followups

        return list_followups(session, **filters)
    raise UsageError(f"unknown kind '{kind}': use one of {', '.join(KINDS)}")


def field_types(session: Any, kind: str) -> dict[str, str]:
    """custom.KEY → declared type (number, date, bool …), to type XLSX cells."""
    entity = FIELD_ENTITY.get(kind)
    if entity is None:
        return {}
    from crmcli.domain.fields import field_defs

    return {f"custom.{name}": d.type for name, d in field_defs(session, entity).items()}


def field_labels(session: Any, kind: str) -> dict[str, str]:
    """custom.KEY → custom.KEY:TYPE for each declared field that is not text (see the module
    docstring): the headers of CSV and XLSX, and X-CRM-FIELD's key:type."""
    entity = FIELD_ENTITY.get(kind)
    if entity is None:
        return {}
    from crmcli.domain.fields import field_defs

    return {
        f"custom.{name}": f"custom.{typed_key(name, d.type, d.choices)}"
        for name, d in field_defs(session, entity).items()
        if d.type != "text"
    }


def typed_key(name: str, type: str, choices: list[str] | None = None) -> str:
    """'seats:number', 'tier:choice(Gold|Silver)'; a text field is its name alone."""
    if type == "text":
        return name
    if type == "choice":
        escaped = (c.replace("\\", "\\\\").replace("|", "\\|") for c in choices or [])
        return f"{name}:choice({'|'.join(escaped)})"
    return f"{name}:{type}"


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts (custom fields) become prefix.key columns; lists of records are left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for sub, subvalue in sorted(value.items()):
                out[f"{key}.{sub}"] = subvalue
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        else:
            out[key] = value
    return out


def headers(kind: str, flat: list[dict[str, Any]]) -> list[str]:
    """The columns: the records' keys in their order, the custom.KEY columns sorted where custom sits."""
    keys: dict[str, None] = {}
    for row in flat:
        keys.update(dict.fromkeys(row))
    if not flat:
        return list(HEADERS.get(kind, []))
    custom = sorted(k for k in keys if k.startswith("custom."))
    plain = [k for k in keys if not k.startswith("custom.")]
    if custom and "notes" in plain:
        at = plain.index("notes") + 1
        return plain[:at] + custom + plain[at:]
    return plain + custom


# ---------------------------------------------------------------- writers


def _text(value: Any) -> str:
    """A value as CSV text: ISO UTC times with Z, true/false, lists joined with '; '."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _iso_utc(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    return str(value)


def csv_bytes(
    kind: str, records: list[dict[str, Any]], *, bom: bool = True, labels: dict[str, str] | None = None
) -> bytes:
    """CSV; LABELS (field_labels) name the typed custom columns in the header."""
    import csv

    flat = [flatten(r) for r in records]
    columns = headers(kind, flat)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([(labels or {}).get(c, c) for c in columns])
    text, safe = _text, neutralize
    for row in flat:
        writer.writerow([safe(text(row.get(c))) for c in columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def json_bytes(records: list[dict[str, Any]], labels: dict[str, str] | None = None) -> bytes:
    """The records as `-f json` of the list prints them; LABELS (custom.KEY → custom.KEY:TYPE) rename
    those keys of each record's custom object, so the file says what JSON's values cannot."""
    from crmcli.values.cells import dumps

    if labels:
        records = [
            {**r, "custom": {labels.get(f"custom.{k}", f"custom.{k}")[7:]: v for k, v in r["custom"].items()}}
            if r.get("custom")
            else r
            for r in records
        ]
    return (dumps(records) + "\n").encode("utf-8")  # controls and bidi characters of old data escaped


def _typed(value: Any, key: str, declared: dict[str, str]) -> Any:
    """A custom field's stored text as the number, date or boolean its declaration says."""
    kind = declared.get(key)
    if not isinstance(value, str) or kind is None:
        return value
    try:
        if kind == "number":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
    except (InvalidOperation, ValueError):
        return value
    return value


def _money_format(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places else "")


def xlsx_bytes(
    kind: str,
    records: list[dict[str, Any]],
    declared: dict[str, str] | None = None,
    *,
    labels: dict[str, str] | None = None,
) -> bytes:
    """A workbook with one sheet: typed cells (DECLARED: field_types), a bold frozen header with an
    autofilter (LABELS: field_labels)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from crmcli.values.money import digits

    declared = declared or {}
    flat = [flatten(r) for r in records]
    columns = headers(kind, flat)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    sample = flat[:200]
    names = [(labels or {}).get(c, c) for c in columns]
    for n, column in enumerate(columns, start=1):
        width = max([len(names[n - 1])] + [len(_text(r.get(column))) for r in sample])
        sheet.column_dimensions[get_column_letter(n)].width = min(max(width + 2, 8), 50)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats: dict[str, str] = {}
    for row in flat:
        cells = []
        for column in columns:
            value = _typed(row.get(column), column, declared)
            number_format = None
            if isinstance(value, datetime):
                value = _naive_utc(value)  # Excel has no time zones: UTC, as everywhere in exports
                number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, date):
                number_format = "yyyy-mm-dd"
            elif isinstance(value, Decimal) and column in MONEY_KEYS:
                currency = row.get("currency") or "EUR"
                number_format = formats.get(currency) or formats.setdefault(currency, _money_format(digits(currency)))
            elif isinstance(value, (list, tuple)):
                value = _text(value)
            elif isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False)
            if isinstance(value, str):
                value = neutralize(ILLEGAL_CHARACTERS_RE.sub("", value)) or None
            cell = WriteOnlyCell(sheet, value=value)
            if number_format:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(flat) + 1}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _naive_utc(value: datetime) -> datetime:
    from datetime import UTC

    value = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)  # to the second, as CSV and JSON carry them


def _split_name(name: str) -> tuple[str, str]:
    """(family, given) for vCard N: 'Müller, Anna' and 'Anna Müller' → ('Müller', 'Anna');
    a name without spaces (黄伟明) is all family name."""
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return family, given
    parts = name.rsplit(" ", 1)
    return (parts[1], parts[0]) if len(parts) == 2 else (name, "")


def vcf_bytes(records: list[dict[str, Any]], labels: dict[str, str] | None = None) -> bytes:
    """vCard 3.0, one card per contact (see the module docstring for the properties); LABELS
    (field_labels) give X-CRM-FIELD the declared types. vobject escapes the text values."""
    import vobject

    from crmcli.values.clock import iso_utc

    out = []
    for row in records:
        card = vobject.vCard()
        card.add("fn").value = row["name"]
        family, given = _split_name(row["name"])
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
        for i, email in enumerate(row.get("emails") or []):
            prop = card.add("email")
            prop.value = email
            prop.params["TYPE"] = ["INTERNET", "PREF"] if i == 0 else ["INTERNET"]
        for i, phone in enumerate(row.get("phones") or []):
            prop = card.add("tel")
            prop.value = phone
            prop.params["TYPE"] = ["VOICE", "PREF"] if i == 0 else ["VOICE"]
        if row.get("company"):
            card.add("org").value = [row["company"]]
        for key, prop_name in (("title", "title"), ("notes", "note"), ("external_id", "uid")):
            if row.get(key):
                card.add(prop_name).value = str(row[key])
        if row.get("tags"):
            card.add("categories").value = list(row["tags"])
        if any(row.get(k) for k in ("street", "city", "region", "postcode", "country")):
            adr = card.add("adr")
            adr.value = vobject.vcard.Address(
                street=row.get("street") or "", city=row.get("city") or "", region=row.get("region") or "",
                code=row.get("postcode") or "", country=row.get("country") or "",
            )  # fmt: skip
            adr.params["TYPE"] = ["WORK"]
        if row.get("birthday"):
            card.add("bday").value = row["birthday"]
        if row.get("website"):
            card.add("url").value = row["website"]
        for key, prop_name in (("owner", "x-crm-owner"), ("source", "x-crm-source")):
            if row.get(key):
                card.add(prop_name).value = str(row[key])
        for key, value in sorted((row.get("custom") or {}).items()):
            label = (labels or {}).get(f"custom.{key}", f"custom.{key}")[7:]
            card.add("x-crm-field").value = f"{label}={_text(value)}"
        if row.get("id") is not None:  # as CSV's id column: an import keeps namesakes sharing an address apart
            card.add("x-crm-id").value = str(row["id"])
        if row.get("cadence_days"):
            card.add("x-crm-cadence").value = str(row["cadence_days"])  # keep in touch every N days
        if row.get("created_at"):
            card.add("x-crm-created").value = iso_utc(row["created_at"])
        if row.get("updated_at"):
            card.add("rev").value = iso_utc(row["updated_at"])
        out.append(card.serialize())
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- files


def format_for(target: str, fmt: str | None) -> str:
    """The format asked for, else the one the file's extension names; '-' alone means CSV."""
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
        return fmt
    if target == "-":
        return "csv"
    found = EXTENSIONS.get(Path(target).suffix.lower())
    if found is None:
        raise UsageError(
            f"cannot tell the format of '{target}' from its extension: use .csv, .xlsx, .json or .vcf",
            hint=Hint("or {fmt}", form="{message}, {hint}"),
        )
    return found


def render(session: Any, kind: str, records: list[dict[str, Any]], fmt: str, *, bom: bool = True) -> bytes:
    if fmt == "vcf" and kind != "contacts":
        raise UsageError(f"vCard holds contacts only; export {kind} as csv, xlsx or json")
    labels = field_labels(session, kind)
    types = field_types(session, kind)
    writers: dict[str, Callable[[], bytes]] = {
        "csv": lambda: csv_bytes(kind, records, bom=bom, labels=labels),
        # JSON's true and false say yes/no fields themselves
        "json": lambda: json_bytes(records, {k: v for k, v in labels.items() if types.get(k) != "bool"}),
        "xlsx": lambda: xlsx_bytes(kind, records, field_types(session, kind), labels=labels),
        "vcf": lambda: vcf_bytes(records, labels),
    }
    return writers[fmt]()


def check_target(target: str, *, force: bool) -> Path | None:
    """The path to write (None for standard output), checked before any work (crmcli.values.files)."""
    from crmcli.values.files import target as checked

    return checked(target, force=force)


def write(path: Path | None, data: bytes, *, force: bool) -> None:
    """DATA to PATH atomically (mode 0600: it is personal data), or to standard output."""
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from crmcli.values.files import write_bytes

    write_bytes(path, data, force=force)
