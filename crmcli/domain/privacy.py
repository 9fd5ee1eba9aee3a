"""A person's data on request (GDPR): everything held about them, and forgetting them.

`export_person` gathers every row about a contact from every table: the contact, its emails,
phones and tags, activities, deals (and their stage moves), follow-ups, merges into it, the
import runs that created or changed it, and its history.

`forget` erases the person: the contact and what hangs on it (emails, phones, tags, activities,
follow-ups) go; deals stay, without the link; merges and import entries about them go; their
history entries lose their before and after values and the command lines that named them are cut
to the command; any other mention of their name, emails or phones in a text column (notes,
titles, search documents, history of records that are not another person's) becomes
"[erased]". Their emails and phones join the suppression list as salted hashes, and an erasure
record says when and by whom, with counts and nothing about the person.
"""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, text
from sqlmodel import Session, col, select

from crmcli import changelog
from crmcli.domain import contacts, indexing, lookup, search, suppression
from crmcli.models import (
    Activity,
    Change,
    ChangeSet,
    Contact,
    ContactEmail,
    ContactPhone,
    Deal,
    Erasure,
    ImportChange,
    MergeRecord,
    SQLModel,
)
from crmcli.values import clock, files
from crmcli.values.normalize import name_key

ERASED = "[erased]"
# identity columns of other people and records, never rewritten for a mention
KEEP = {
    ("contact", "name"), ("contact", "name_key"), ("contact_email", "email"), ("contact_phone", "phone"),
    ("company", "name"), ("company", "name_key"), ("setting", "key"), ("setting", "value"),
    ("suppression", "digest"), ("change", "tbl"), ("change", "op"), ("change", "kind"),
}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.iso_utc(clock.as_utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Session, table: str, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    t = SQLModel.metadata.tables[table]
    found = session.connection().execute(t.select().where(text(where)), params).mappings()
    return [{k: _plain(v) for k, v in row.items()} for row in found]


def _ids(session: Session, contact_id: int) -> list[int]:
    """The contact and those merged into it: the ids the person was known by."""
    merged = session.exec(
        select(MergeRecord.merged_id).where(MergeRecord.entity == "contact", MergeRecord.kept_id == contact_id)
    )
    return [contact_id, *merged]


def export_person(session: Session, ref: str) -> dict[str, Any]:
    """Everything held about the contact REF names, table by table (JSON-ready)."""
    contact = lookup.resolve_contact(session, ref)
    assert contact.id is not None
    cid = {"cid": contact.id}
    ids = _ids(session, contact.id)
    deals = _rows(session, "deal", "contact_id = :cid", cid)
    deal_ids = [d["id"] for d in deals]
    runs = sorted(
        set(
            session.exec(
                select(ImportChange.import_id).where(
                    ImportChange.entity == "contact", col(ImportChange.record_id).in_(ids)
                )
            )
        )
    )
    changes = session.exec(
        select(Change, ChangeSet)
        .join(ChangeSet, col(ChangeSet.id) == col(Change.set_id), isouter=True)
        .where(col(Change.contact_id).in_(ids))
        .order_by(col(Change.id))
    )
    return {
        "exported_at": clock.iso_utc(clock.now()),
        "contact": _rows(session, "contact", "id = :cid", cid)[0],
        "emails": _rows(session, "contact_email", "contact_id = :cid", cid),
        "phones": _rows(session, "contact_phone", "contact_id = :cid", cid),
        "tags": [r["tag"] for r in _rows(session, "contact_tag", "contact_id = :cid", cid)],
        "company": _rows(session, "company", "id = :co", {"co": contact.company_id})[0] if contact.company_id else None,
        "activities": _rows(session, "activity", "contact_id = :cid", cid),
        "deals": deals,
        "stage_moves": [r for d in deal_ids for r in _rows(session, "stage_history", "deal_id = :d", {"d": d})],
        "followups": _rows(session, "followup", "contact_id = :cid", cid),
        "merges": _rows(
            session,
            "merge_log",
            "entity = 'contact' AND (kept_id IN ({0}) OR merged_id IN ({0}))".format(
                ", ".join(str(int(i)) for i in ids)
            ),
            {},
        ),
        "imports": [
            {
                **_rows(session, "import_run", "id = :r", {"r": run})[0],
                "changes": [
                    r
                    for i in ids
                    for r in _rows(
                        session,
                        "import_change",
                        "import_id = :r AND entity = 'contact' AND record_id = :i",
                        {"r": run, "i": i},
                    )  # fmt: skip
                ],
            }
            for run in runs
        ],
        "history": [
            {
                "change": c.set_id,
                "at": clock.iso_utc(clock.as_utc(s.at)) if s is not None else None,
                "who": (s.who if s is not None else None) or c.who,
                "via": s.via if s is not None else None,
                "table": c.tbl,
                "op": c.op,
                "before": c.before,
                "after": c.after,
            }
            for c, s in changes
        ],
    }


def _needles(session: Session, ids: list[int]) -> tuple[list[str], list[str]]:
    """(what identifies the person in text: names of 4 characters or more and their folded keys,
    emails, phones; their names)."""
    names = list(session.exec(select(Contact.name).where(col(Contact.id).in_(ids))))
    names += list(
        session.exec(
            select(MergeRecord.merged_name).where(MergeRecord.entity == "contact", MergeRecord.kept_id == ids[0])
        )
    )
    emails = list(session.exec(select(ContactEmail.email).where(col(ContactEmail.contact_id).in_(ids))))
    phones = list(session.exec(select(ContactPhone.phone).where(col(ContactPhone.contact_id).in_(ids))))
    long_names = [n for n in names if len(n.strip()) >= 4]
    found = long_names + [name_key(n) for n in long_names] + emails + [p.split(" ext.")[0] for p in phones]
    return sorted(set(found), key=len, reverse=True), names  # longest first: an email before a name in it


def _is_text(column: Any) -> tuple[bool, bool]:
    """(a text or JSON column, a JSON one)."""
    kind = column.type
    if isinstance(kind, JSON) or "JSON" in type(kind).__name__.upper():
        return True, True
    impl = getattr(kind, "impl_instance", None) or getattr(kind, "impl", None)
    return isinstance(kind, String) or isinstance(impl, String), False


def _scrub(session: Session, needles: list[str], others: list[int]) -> int:
    """Replace every mention of NEEDLES in text and JSON columns, but not in the identity columns
    of other records (KEEP) nor in the history of OTHERS (namesakes: their own name is not about
    this person); returns how many values changed."""
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    q = conn.dialect.identifier_preparer.quote
    changed = 0
    # the log last: the scrubbing of the other tables is logged, and those entries are scrubbed too
    tables = sorted(SQLModel.metadata.sorted_tables, key=lambda t: t.name in ("change", "change_set"))
    for table in tables:
        for column in table.columns:
            textual, is_json = _is_text(column)
            if not textual or (table.name, column.name) in KEEP:
                continue
            value = f"CAST({q(column.name)} AS TEXT)" if is_json and pg else q(column.name)
            not_theirs = ""
            if table.name == "change" and others:
                not_theirs = " AND (contact_id IS NULL OR contact_id NOT IN ({}))".format(
                    ", ".join(str(int(i)) for i in others)
                )
            replaced = f"replace({value}, :needle, :erased)"
            new = f"CAST({replaced} AS jsonb)" if is_json and pg else replaced
            for needle in needles:
                changed += conn.execute(
                    text(
                        f"UPDATE {q(table.name)} SET {q(column.name)} = {new} "
                        f"WHERE {value} LIKE :pattern ESCAPE '\\' AND {replaced} <> {value}{not_theirs}"
                    ),
                    {"needle": needle, "erased": ERASED, "pattern": f"%{lookup.like_escape(needle)}%"},
                ).rowcount
    return changed


def forget(session: Session, ref: str, *, by: str | None = None) -> dict[str, int]:
    """Erase the contact REF names and their personal data from every table (see the module's
    docstring); returns the counts the erasure record keeps."""
    contact = lookup.resolve_contact(session, ref)
    assert contact.id is not None
    ids = _ids(session, contact.id)
    needles, names = _needles(session, ids)
    namesakes = [
        i
        for i in session.exec(select(Contact.id).where(col(Contact.name).in_(names)))
        if i is not None and i not in ids
    ]
    emails = list(session.exec(select(ContactEmail.email).where(col(ContactEmail.contact_id).in_(ids))))
    phones = list(session.exec(select(ContactPhone.phone).where(col(ContactPhone.contact_id).in_(ids))))
    deal_ids = [d for d in session.exec(select(Deal.id).where(Deal.contact_id == contact.id)) if d is not None]
    activities = len(list(session.exec(select(Activity.id).where(Activity.contact_id == contact.id))))
    erasure = Erasure(at=clock.now(), by=by or changelog.current_user(), counts={})
    session.add(erasure)
    session.flush()
    counts: dict[str, int] = {
        "emails": len(emails), "phones": len(phones), "activities": activities, "deals_unlinked": len(deal_ids),
    }  # fmt: skip
    counts["suppressed"] = suppression.add(session, emails, phones, erasure_id=erasure.id)
    contacts.remove_contact(session, contact)
    conn = session.connection()
    counts["merges"] = conn.execute(
        MergeRecord.__table__.delete().where(  # type: ignore[attr-defined]
            MergeRecord.entity == "contact",
            (col(MergeRecord.kept_id).in_(ids)) | (col(MergeRecord.merged_id).in_(ids)),
        )
    ).rowcount
    counts["import_entries"] = conn.execute(
        ImportChange.__table__.delete().where(  # type: ignore[attr-defined]
            ImportChange.entity == "contact", col(ImportChange.record_id).in_(ids)
        )
    ).rowcount
    session.flush()
    with changelog.rewriting(conn):
        counts["history_rows"] = conn.execute(
            text(
                "UPDATE change SET before = NULL, after = NULL WHERE contact_id IN ({})".format(
                    ", ".join(str(int(i)) for i in ids)
                )
            )
        ).rowcount
        sets = session.exec(
            select(ChangeSet.id, ChangeSet.via).where(
                col(ChangeSet.id).in_(select(Change.set_id).where(col(Change.contact_id).in_(ids)))
            )
        )
        for set_id, via in list(sets):
            conn.execute(text("UPDATE change_set SET via = :via WHERE id = :id"), {"via": _cut(via), "id": set_id})
        counts["mentions"] = _scrub(session, needles, namesakes)
    search.remove(session, "contact", ids)
    indexing.reindex_deals(session, deal_ids)
    erasure.counts = counts
    session.add(erasure)
    session.flush()
    return counts


def _cut(via: str) -> str:
    """A command line that named the person, cut to the command: `crm contacts add [erased]`."""
    try:
        words = shlex.split(via)
    except ValueError:
        words = via.split()
    keep = [w for w in words[:3] if w and not w.startswith("-") and "@" not in w and not any(ch.isdigit() for ch in w)]
    if (
        len(keep) == 3
        and keep[0] == "crm"
        and keep[1] not in ("contacts", "companies", "deals", "followups", "imports")
    ):
        keep = keep[:2]
    return " ".join([*keep, ERASED])


def write_export(data: dict[str, Any], path: str, *, force: bool = False) -> str:
    """DATA as JSON in the file PATH (mode 0600, written whole or not at all; an existing file
    only with FORCE); returns the path."""
    target = Path(path).expanduser()
    files.check(target, force=force)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    with files.atomic(target, force=force) as out:
        out.write(body.encode("utf-8"))
    return str(target)
