"""crm doctor: the data's health, each finding with the command that fixes it, and the database's
own integrity check.

Findings (they do not fail the command unless asked to, with strict):

- unreachable: contacts with neither an email nor a phone;
- no_owner: contacts nobody owns;
- invalid_values: stored values that today's checks refuse or would store differently (emails,
  phones, company domains and phones, birthdays and websites, names out of step with their lookup
  keys, custom fields against their declared types), e.g. written by an older version (a company
  website "acme.de", now "https://acme.de") or straight into the database;
- duplicate_contacts, duplicate_companies: likely duplicates (crmcli.domain.dedupe, default threshold);
- open_deals_incomplete: open deals without an amount or an expected close date (the forecast
  misses them); won_deals_without_amount: won deals without an amount (won value misses them);
- overdue_followups: follow-ups due before today.

Integrity (fails the command, exit 1): on SQLite `PRAGMA integrity_check` (pages, indexes,
constraints) and `PRAGMA foreign_key_check`; on PostgreSQL, which keeps its pages consistent
itself, rows whose foreign keys point nowhere (possible after a restore with triggers off or
constraints dropped), constraints left NOT VALID, and indexes left invalid by an interrupted
CREATE INDEX CONCURRENTLY.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import exists, or_, select, text
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from crmcli.domain import settings
from crmcli.domain.dedupe import clusters
from crmcli.domain.fields import field_defs
from crmcli.domain.followups import list_followups
from crmcli.domain.lookup import normalize_domain
from crmcli.domain.records import DoctorFinding, DoctorItem, DoctorReport, IntegrityReport
from crmcli.errors import Invalid, UsageError
from crmcli.models import Activity, Company, Contact, ContactEmail, ContactPhone, Deal
from crmcli.values import clock
from crmcli.values.addressbook import normalize_birthday, normalize_website
from crmcli.values.fieldtypes import coerce
from crmcli.values.normalize import clean_text, name_key, normalize_email
from crmcli.values.when import parse_cadence

# An address this simple is one email_validator accepts as it is; anything else gets the full check.
_SIMPLE_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE = {"arpa", "invalid", "local", "localhost", "onion", "test"}


def _q(value: str) -> str:
    return shlex.quote(value)


def _item(record_id: int | str, record: str, problem: str, fix: str) -> DoctorItem:
    return {"id": record_id, "record": record, "problem": problem, "fix": fix}


# ---------------------------------------------------------------- findings


def unreachable(session: Session) -> list[DoctorItem]:
    query = (
        select(col(Contact.id), col(Contact.name))
        .where(
            ~exists().where(col(ContactEmail.contact_id) == Contact.id),
            ~exists().where(col(ContactPhone.contact_id) == Contact.id),
        )
        .order_by(col(Contact.id))
    )
    return [
        _item(i, f"#{i} {name}", "no email and no phone", f"crm contacts edit {i} --add-email EMAIL --add-phone PHONE")
        for i, name in session.execute(query)
    ]


def no_owner(session: Session) -> list[DoctorItem]:
    query = (
        select(col(Contact.id), col(Contact.name))
        .where(or_(col(Contact.owner).is_(None), col(Contact.owner) == ""))
        .order_by(col(Contact.id))
    )
    return [
        _item(i, f"#{i} {name}", "no owner", f"crm contacts edit {i} --owner NAME")
        for i, name in session.execute(query)
    ]


def _email_problem(value: str) -> str | None:
    if _SIMPLE_EMAIL.fullmatch(value) and len(value) <= 254 and value.rsplit(".", 1)[-1] not in _SPECIAL_USE:
        if len(value.split("@", 1)[0]) <= 64:
            return None
    try:
        clean = normalize_email(value)
    except Invalid as exc:
        return str(exc)
    return None if clean == value else f"email '{value}' would be stored as '{clean}'"


def _phone_problem(value: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return f"phone '{value}' cannot be read"
    if not phonenumbers.is_valid_number(number):
        return f"phone '{value}' is not a valid number"
    clean = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None if clean == value else f"phone '{value}' would be stored as '{clean}'"


def _custom_problems(session: Session, entity: str) -> list[DoctorItem]:
    """Custom values that their declared field refuses or would store differently."""
    defs = field_defs(session, entity)
    if not defs:
        return []
    columns: dict[str, tuple[type[Contact | Company | Deal], Mapped[str], str]] = {
        "contacts": (Contact, col(Contact.name), "contacts"),
        "companies": (Company, col(Company.name), "companies"),
        "deals": (Deal, col(Deal.title), "deals"),
    }
    model, label, group = columns[entity]
    out = []
    query = select(col(model.id), label, col(model.custom)).order_by(col(model.id))
    for record_id, name, custom in session.execute(query):
        for key, value in (custom or {}).items():
            definition = defs.get(key)
            if definition is None or value is None:
                continue
            raw = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            try:
                clean = coerce(definition, key, raw)
            except Invalid as exc:
                problem = str(exc)
            else:
                if clean == value:
                    continue
                problem = f"field {key}: {value!r} would be stored as {clean!r}"
            out.append(
                _item(record_id, f"#{record_id} {name}", problem, f"crm {group} edit {record_id} -F {key}=VALUE")
            )
    return out


def _addressbook_problems(session: Session) -> list[DoctorItem]:
    """Birthdays and websites that today's checks refuse or would store differently."""
    checks: tuple[tuple[type[Contact | Company], str, Mapped[str | None], str, Callable[[str], str | None]], ...] = (
        (Contact, "contacts", col(Contact.birthday), "birthday", normalize_birthday),
        (Contact, "contacts", col(Contact.website), "website", normalize_website),
        (Company, "companies", col(Company.website), "website", normalize_website),
    )
    out = []
    for model, group, column, attr, normalize in checks:
        query = select(col(model.id), col(model.name), column).where(column.is_not(None)).order_by(col(model.id))
        for record_id, name, value in session.execute(query):
            try:
                clean = normalize(value)
            except Invalid as exc:
                problem, fix = str(exc), f"crm {group} edit {record_id} --{attr} {attr.upper()}"
            else:
                if clean == value:
                    continue
                problem = f"{attr} '{value}' would be stored as '{clean}'"
                fix = f"crm {group} edit {record_id} --{attr} {_q(clean or '')}"
            out.append(_item(record_id, f"#{record_id} {name}", problem, fix))
    return out


def invalid_values(session: Session) -> list[DoctorItem]:
    out: list[DoctorItem] = []
    names = dict(session.execute(select(col(Contact.id), col(Contact.name))).all())
    for contact_id, email in session.execute(select(col(ContactEmail.contact_id), col(ContactEmail.email))):
        problem = _email_problem(email)
        if problem:
            fix = f"crm contacts edit {contact_id} --rm-email {_q(email)} --add-email EMAIL"
            out.append(_item(contact_id, f"#{contact_id} {names.get(contact_id)}", problem, fix))
    for contact_id, phone in session.execute(select(col(ContactPhone.contact_id), col(ContactPhone.phone))):
        problem = _phone_problem(phone)
        if problem:
            fix = f"crm contacts edit {contact_id} --rm-phone {_q(phone)} --add-phone PHONE"
            out.append(_item(contact_id, f"#{contact_id} {names.get(contact_id)}", problem, fix))
    for company_id, name, domain, phone in session.execute(
        select(col(Company.id), col(Company.name), col(Company.domain), col(Company.phone)).where(
            or_(col(Company.domain).is_not(None), col(Company.phone).is_not(None))
        )
    ):
        record = f"#{company_id} {name}"
        if domain:
            try:
                clean = normalize_domain(domain)
            except Invalid as exc:
                clean, problem = None, str(exc)
            else:
                problem = None if clean == domain else f"domain '{domain}' would be stored as '{clean}'"
            if problem:
                out.append(_item(company_id, record, problem, f"crm companies edit {company_id} --domain DOMAIN"))
        if phone:
            problem = _phone_problem(phone)
            if problem:
                out.append(_item(company_id, record, problem, f"crm companies edit {company_id} --phone PHONE"))
    names_and_keys: tuple[tuple[type[Contact | Company | Deal], Mapped[str], Mapped[str], str, str], ...] = (
        (Contact, col(Contact.name), col(Contact.name_key), "contacts", "--name"),
        (Company, col(Company.name), col(Company.name_key), "companies", "--name"),
        (Deal, col(Deal.title), col(Deal.title_key), "deals", "--title"),
    )
    for model, label, key, group, option in names_and_keys:
        query = select(col(model.id), label, key).order_by(col(model.id))
        for record_id, name, stored_key in session.execute(query):
            clean = clean_text(name)
            if clean != name or name_key(clean) != stored_key:
                problem = "name is empty" if not clean else f"name {name!r} is not stored cleanly (lookups miss it)"
                fix = f"crm {group} edit {record_id} {option} {_q(clean or 'NAME')}"
                out.append(_item(record_id, f"#{record_id} {clean or '(no name)'}", problem, fix))
    out += _addressbook_problems(session)
    for entity in ("contacts", "companies", "deals"):
        out += _custom_problems(session, entity)
    return out


def _duplicates(session: Session, entity: str) -> list[DoctorItem]:
    return [
        _item(c["id"], ", ".join(c["names"]), f"score {c['score']}: {'; '.join(c['reasons'])}", c["command"])
        for c in clusters(session, entity)
    ]


def duplicate_contacts(session: Session) -> list[DoctorItem]:
    return _duplicates(session, "contact")


def duplicate_companies(session: Session) -> list[DoctorItem]:
    return _duplicates(session, "company")


def open_deals_incomplete(session: Session) -> list[DoctorItem]:
    query = (
        select(col(Deal.id), col(Deal.title), col(Deal.amount_minor), col(Deal.close_date))
        .where(col(Deal.status) == "open", or_(col(Deal.amount_minor).is_(None), col(Deal.close_date).is_(None)))
        .order_by(col(Deal.id))
    )
    out = []
    for deal_id, title, amount, close in session.execute(query):
        missing = [what for what, value in (("amount", amount), ("close date", close)) if value is None]
        options = (" --amount AMOUNT" if amount is None else "") + (" --close YYYY-MM-DD" if close is None else "")
        out.append(
            _item(
                deal_id, f"#{deal_id} {title}", "no " + " and no ".join(missing), f"crm deals edit {deal_id}{options}"
            )
        )
    return out


def won_deals_without_amount(session: Session) -> list[DoctorItem]:
    query = (
        select(col(Deal.id), col(Deal.title))
        .where(col(Deal.status) == "won", col(Deal.amount_minor).is_(None))
        .order_by(col(Deal.id))
    )
    return [
        _item(i, f"#{i} {title}", "won without an amount", f"crm deals edit {i} --amount AMOUNT")
        for i, title in session.execute(query)
    ]


def overdue_followups(session: Session) -> list[DoctorItem]:
    return [
        _item(
            f["id"],
            f"{f['id']} {f['subject'] or ''}".strip() + (f": {f['note']}" if f["note"] else ""),
            f["relative"],
            f"crm followups done {f['id']}  (or: crm followups snooze {f['id']} --until WHEN)",
        )
        for f in list_followups(session, window="overdue")
    ]


def untouched(session: Session) -> list[DoctorItem]:
    """Contacts with no edit and no activity for longer than the retention setting (GDPR: data
    kept no longer than needed)."""
    days = parse_cadence(settings.get(session, "retention"))
    if not days:
        return []
    cutoff = clock.now() - timedelta(days=days)
    query = (
        select(col(Contact.id), col(Contact.name), col(Contact.updated_at))
        .where(
            col(Contact.updated_at) < cutoff,
            ~exists().where(col(Activity.contact_id) == Contact.id, col(Activity.at) >= cutoff),
        )
        .order_by(col(Contact.updated_at), col(Contact.id))
    )
    return [
        _item(i, f"#{i} {name}", f"untouched for more than {days} days (retention)",
              f"crm contacts forget {i} --yes  (or crm log {i} … if they are still a customer)")
        for i, name, _at in session.execute(query)
    ]  # fmt: skip


# (id, title, finder, the command that fixes it in general)
CHECKS: list[tuple[str, str, Callable[[Session], list[DoctorItem]], str]] = [
    ("unreachable", "Contacts without email or phone", unreachable, "crm contacts edit ID --add-email … --add-phone …"),
    ("no_owner", "Contacts without owner", no_owner, "crm contacts edit ID --owner NAME"),
    ("invalid_values", "Invalid stored values", invalid_values, "crm doctor --check invalid_values (a fix per value)"),
    ("duplicate_contacts", "Likely duplicate contacts", duplicate_contacts,
     "crm contacts dedupe; crm contacts merge KEEP OTHER…; crm contacts dedupe --auto (exact ones)"),
    ("duplicate_companies", "Likely duplicate companies", duplicate_companies,
     "crm companies dedupe; crm companies merge KEEP OTHER…"),
    ("open_deals_incomplete", "Open deals without amount or close date", open_deals_incomplete,
     "crm deals edit ID --amount AMOUNT --close YYYY-MM-DD"),
    ("won_deals_without_amount", "Won deals without amount", won_deals_without_amount,
     "crm deals edit ID --amount AMOUNT"),
    ("untouched", "Contacts untouched for longer than the retention period", untouched,
     "crm contacts forget ID --yes (GDPR), or log an activity; crm config set retention 24mo|off"),
    ("overdue_followups", "Overdue follow-ups", overdue_followups,
     "crm followups overdue; then crm followups done ID or crm followups snooze ID --until WHEN"),
]  # fmt: skip
CHECK_IDS = ["integrity", *(c[0] for c in CHECKS)]


# ---------------------------------------------------------------- integrity


def integrity(session: Session) -> IntegrityReport:
    """The database's own check: {backend, ok, ran: [what was checked], problems: [text]}."""
    dialect = session.get_bind().dialect.name
    problems: list[str] = []
    if dialect == "sqlite":
        ran = ["PRAGMA integrity_check", "PRAGMA foreign_key_check"]
        result = [row[0] for row in session.execute(text("PRAGMA integrity_check"))]
        if result != ["ok"]:
            problems += [f"integrity_check: {line}" for line in result]
        for table, rowid, parent, _fk in session.execute(text("PRAGMA foreign_key_check")):
            problems.append(f"{table} row {rowid} refers to a missing {parent}")
    elif dialect == "postgresql":
        ran = ["foreign keys (orphan rows)", "constraints NOT VALID", "invalid indexes"]
        problems += _orphans(session)
        for table, name in session.execute(
            text(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint c JOIN pg_namespace n "
                "ON n.oid = c.connamespace WHERE n.nspname = current_schema() AND NOT c.convalidated"
            )
        ):
            problems.append(f"constraint {name} on {table} is not validated")
        for (index,) in session.execute(
            text(
                "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND (NOT i.indisvalid OR NOT i.indisready)"
            )
        ):
            problems.append(f"index {index} is invalid (rebuild it: REINDEX INDEX {index})")
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        ran = ["foreign keys (orphan rows)"]
        problems += _orphans(session)
    return {"backend": dialect, "ok": not problems, "ran": ran, "problems": problems}


def _orphans(session: Session) -> list[str]:
    """Rows whose foreign keys point at no row, for every foreign key the models declare."""
    from sqlmodel import SQLModel

    out = []
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_keys:
            child, parent = fk.parent, fk.column
            query = (
                select(child).where(child.is_not(None), ~exists().where(parent == child)).select_from(table).limit(1000)
            )
            missing = list(session.scalars(query))
            if missing:
                shown = ", ".join(str(v) for v in missing[:5])
                out.append(
                    f"{table.name}.{child.name}: {len(missing)}{'+' if len(missing) == 1000 else ''} "
                    f"rows refer to a missing {parent.table.name} ({shown})"
                )
    return out


# ---------------------------------------------------------------- the report


def report(session: Session, *, examples: int = 3) -> DoctorReport:
    """{ok (integrity), backend, integrity, findings: [{id, title, count, examples, fix}], problems (count)}."""
    checked = integrity(session)
    findings: list[DoctorFinding] = []
    for check_id, title, finder, fix in CHECKS:
        items = finder(session)
        findings.append(
            {
                "id": check_id,
                "title": title,
                "count": len(items),
                "examples": [f"{i['record']}: {i['problem']}" for i in items[:examples]],
                "fix": fix if items else None,
            }
        )
    return {
        "ok": checked["ok"],
        "backend": checked["backend"],
        "integrity": checked,
        "findings": findings,
        "problems": sum(1 for f in findings if f["count"]),
    }


def items(session: Session, check: str) -> list[DoctorItem]:
    """Every record behind one finding: {id, record, problem, fix}."""
    if check == "integrity":
        checked = integrity(session)
        return [_item(n, checked["backend"], p, "restore a backup, or ask your database administrator")
                for n, p in enumerate(checked["problems"], start=1)]  # fmt: skip
    for check_id, _title, finder, _fix in CHECKS:
        if check_id == check:
            return finder(session)
    raise UsageError(f"unknown check '{check}': use one of {', '.join(CHECK_IDS)}")
