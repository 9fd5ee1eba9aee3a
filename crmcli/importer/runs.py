"""The record of imports: list them, and undo one (what it created goes, what it changed is
restored), except where later edits touched a record: those are reported and left alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert
from sqlmodel import Session, select

from crmcli import clock, search
from crmcli.errors import Conflict, NotFound
from crmcli.models import (
    Activity,
    Company,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    Deal,
    FollowUp,
    ImportChange,
    ImportRun,
    MergeRecord,
    StageChange,
)


def run_record(run: ImportRun) -> dict[str, Any]:
    counts = run.counts or {}
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "file": run.file,
        "kind": run.kind,
        "by": run.by,
        "status": run.status,
        **{key: counts.get(key, 0) for key in ("read", "created", "updated", "merged", "skipped", "rejected")},
        "rejects_file": run.rejects_file,
        "undone_at": run.undone_at,
    }


def list_imports(session: Session, *, limit: int | None = None) -> list[dict[str, Any]]:
    query = select(ImportRun).order_by(ImportRun.id.desc())
    if limit:
        query = query.limit(limit)
    return [run_record(r) for r in session.exec(query)]


def get_run(session: Session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"no import with id {run_id}")
    return run


def _later(value: datetime | None, mark: datetime | None) -> bool:
    return value is not None and mark is not None and value > mark


def undo_import(session: Session, run_id: int) -> dict[str, Any]:
    """Undo an import in one transaction. Returns {removed, restored, kept: [{entity, id, reason}]}."""
    run = get_run(session, run_id)
    if run.status == "undone":
        raise Conflict(
            f"import {run_id} was undone already ({clock.show_local(run.undone_at)})"
            if run.undone_at
            else f"import {run_id} was undone already"
        )
    changes = list(
        session.exec(select(ImportChange).where(ImportChange.import_id == run_id).order_by(ImportChange.id.desc()))
    )
    report: dict[str, Any] = {"removed": 0, "restored": 0, "kept": []}
    for change in changes:
        model = {"contact": Contact, "company": Company, "deal": Deal, "activity": Activity, "followup": FollowUp}[
            change.entity
        ]
        record = session.get(model, change.record_id)
        if record is None:  # removed since; if merged into another record, say where it went
            merged = session.exec(
                select(MergeRecord).where(
                    MergeRecord.entity == change.entity, MergeRecord.merged_id == change.record_id
                )
            ).first()
            if merged is not None:
                report["kept"].append({
                    "entity": change.entity, "id": change.record_id,
                    "reason": f"merged into #{merged.kept_id} since the import: its data stays there",
                })  # fmt: skip
            continue
        if change.action == "created":
            reason = _touched_since(session, change, record, run)
            if reason:
                report["kept"].append({"entity": change.entity, "id": change.record_id, "reason": reason})
                continue
            _remove(session, change.entity, record)
            report["removed"] += 1
        else:
            if _later(getattr(record, "updated_at", None), change.after_updated_at):
                report["kept"].append(
                    {"entity": change.entity, "id": change.record_id, "reason": "edited since the import: not restored"}
                )
                continue
            _restore(session, change.entity, record, change.before or {})
            report["restored"] += 1
    run.status = "undone"
    run.undone_at = clock.now()
    session.add(run)
    session.flush()
    return report


def _touched_since(session: Session, change: ImportChange, record: Any, run: ImportRun) -> str | None:
    """Why a record the import created must stay: edited later, or other records hang on it."""
    if _later(getattr(record, "updated_at", None), change.after_updated_at):
        return "edited since the import: not removed"
    since = run.started_at
    if change.entity == "contact":
        if session.exec(
            select(func.count())
            .select_from(Activity)
            .where(Activity.contact_id == record.id, Activity.created_at > since)
        ).one():
            return "has activities logged since the import: not removed"
        if session.exec(select(func.count()).select_from(Deal).where(Deal.contact_id == record.id)).one():
            return "has deals: not removed"
        if session.exec(select(func.count()).select_from(FollowUp).where(FollowUp.contact_id == record.id)).one():
            return "has follow-ups: not removed"
    if change.entity == "company":
        if session.exec(select(func.count()).select_from(Contact).where(Contact.company_id == record.id)).one():
            return "still has people: not removed"
        if session.exec(select(func.count()).select_from(Deal).where(Deal.company_id == record.id)).one():
            return "has deals: not removed"
    if change.entity == "deal":
        moved = session.exec(
            select(func.count())
            .select_from(StageChange)
            .where(StageChange.deal_id == record.id, StageChange.at > since)
        ).one()
        if (
            moved > 1
            or session.exec(select(func.count()).select_from(Activity).where(Activity.deal_id == record.id)).one()
        ):
            return "moved or worked on since the import: not removed"
    return None


def _remove(session: Session, entity: str, record: Any) -> None:
    if entity == "contact":
        from crmcli.contacts import remove_contact

        remove_contact(session, record)
    elif entity == "company":
        from crmcli.companies import remove_company

        remove_company(session, record)
    elif entity == "deal":
        from crmcli.deals import remove_deal

        remove_deal(session, record)
    elif entity == "activity":
        search.remove(session, "activity", [record.id])
        session.delete(record)
        session.flush()
    else:  # a follow-up: nothing indexes it
        session.delete(record)
        session.flush()


def _restore(session: Session, entity: str, record: Any, before: dict[str, Any]) -> None:
    """Put back what the snapshot held: fields, and for contacts their emails, phones and tags."""
    lists = {"emails", "phones", "tags", "stage_id", "updated_at"}
    for key, value in before.items():
        if key in lists or not hasattr(record, key):
            continue
        column = type(record).__table__.c.get(key)
        if column is not None and value is not None and hasattr(column.type, "python_type"):
            try:
                kind = column.type.python_type
            except NotImplementedError:
                kind = None
            if kind is not None and kind.__name__ == "date" and isinstance(value, str):
                from datetime import date

                value = date.fromisoformat(value)
        setattr(record, key, value)
    if "updated_at" in before:
        record.updated_at = datetime.fromisoformat(before["updated_at"])
    if entity == "contact":
        from crmcli.contacts import reindex_many
        from crmcli.normalize import name_key

        record.name_key = name_key(record.name)
        for model, column, key in ((ContactEmail, "email", "emails"), (ContactPhone, "phone", "phones")):
            session.execute(delete(model).where(model.contact_id == record.id))
            rows = [
                {"contact_id": record.id, column: v, "is_primary": i == 0} for i, v in enumerate(before.get(key, []))
            ]
            if rows:
                session.execute(insert(model.__table__), rows)
        session.execute(delete(ContactTag).where(ContactTag.contact_id == record.id))
        if before.get("tags"):
            session.execute(insert(ContactTag.__table__), [{"contact_id": record.id, "tag": t} for t in before["tags"]])
        session.add(record)
        reindex_many(session, [record.id])
    elif entity == "company":
        from crmcli.companies import reindex

        if "tags" in before:
            session.execute(delete(CompanyTag).where(CompanyTag.company_id == record.id))
            if before["tags"]:
                session.execute(
                    insert(CompanyTag.__table__), [{"company_id": record.id, "tag": t} for t in before["tags"]]
                )
        session.add(record)
        reindex(session, record)
    elif entity == "deal":
        from crmcli.deals import move_deal, reindex
        from crmcli.models import Stage

        if before.get("stage_id") and before["stage_id"] != record.stage_id:
            stage = session.get(Stage, before["stage_id"])
            if stage is not None:
                move_deal(session, record, stage, check_rules=False)
                record.updated_at = datetime.fromisoformat(before["updated_at"])
        session.add(record)
        reindex(session, record)
    session.flush()
