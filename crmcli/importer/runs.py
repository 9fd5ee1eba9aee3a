"""The record of imports: list them, and undo one.

Undo removes what the import created and restores what it changed, and never takes away work
done since: a record edited since the import, or one that other records now hang on (activities,
follow-ups, deals, people of a company, records merged into it, a deal moved since), is kept with
all that, and named in the report with the reason. What it keeps, the undo says; it never fails
halfway through a record.

It works in batches of BATCH changes, each one transaction that holds the write lock for a
fraction of a second and commits, so other users keep working while a big import is undone. The
checks are set-based: one query per table that can point at the batch's records, whatever the
batch size. Order: first the records the import changed are restored, then those it created
are removed, dependents before what they depend on (activities, follow-ups, deals, contacts,
companies), so that an import's own contacts never keep its own companies. Where it has got to
is kept on the run (status "undoing" and a cursor), so an undo that is interrupted or killed is
completed by running it again.

A run records the process that imports (pid, host, start time): a run still "running" whose
process is gone (kill -9, a crash, a power cut) is shown as "killed", and can be undone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert
from sqlmodel import Session, select

from crmcli import changelog
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
    SearchDoc,
    StageChange,
)
from crmcli.values import clock

BATCH = 2000  # changes undone per transaction
KEPT_LISTED = 10_000  # kept records listed by name in the run's record (all are counted)
MODELS: dict[str, Any] = {
    "contact": Contact,
    "company": Company,
    "deal": Deal,
    "activity": Activity,
    "followup": FollowUp,
}
# Removal order: what may point at a record goes before it.
REMOVE_ORDER = ("activity", "followup", "deal", "contact", "company")
PHASES = ("restore", *REMOVE_ORDER)


# ---------------------------------------------------------------- the importing process


def process_mark() -> dict[str, Any]:
    """Who is importing: this process, its host and its start (a pid alone may be reused)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _started(pid)}


def _started(pid: int) -> str | None:
    """The process's start time as the kernel counts it (Linux); None elsewhere."""
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii", errors="replace").read()  # noqa: SIM115
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, after the command in parentheses


def process_gone(mark: dict[str, Any] | None) -> bool:
    """True when the process MARK names has ended (on this host; elsewhere nobody can tell)."""
    if not mark or mark.get("host") != socket.gethostname() or not mark.get("pid"):
        return False
    pid = int(mark["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: it exists
        pass
    start = mark.get("start")
    return bool(start) and _started(pid) not in (None, start)  # the pid was given to another process


def _status(run: ImportRun) -> str:
    if run.status == "running" and process_gone((run.options or {}).get("process")):
        return "killed"
    return run.status


# ---------------------------------------------------------------- listing


def run_record(run: ImportRun) -> dict[str, Any]:
    counts = run.counts or {}
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "file": run.file,
        "kind": run.kind,
        "by": run.by,
        "status": _status(run),
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


def mark_killed(session: Session) -> None:
    """Runs left "running" by a process that is gone become "killed" (a write session's chore)."""
    for run in session.exec(select(ImportRun).where(ImportRun.status == "running")):
        if process_gone((run.options or {}).get("process")):
            run.status = "killed"
            session.add(run)
    session.flush()


# ---------------------------------------------------------------- undo


def undo_import(
    session: Session,
    run_id: int,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    own: bool = False,
) -> dict[str, Any]:
    """Undo an import, committing every BATCH changes (see the module's docstring). Returns
    {removed, restored, kept: [{entity, id, reason}], kept_count}. OWN: the import that is
    running in this process undoes itself (a file found broken halfway). PROGRESS(changes done)
    is called after each committed batch."""
    with changelog.acting(kind="undo", import_id=run_id):  # its batches' change sets name the import
        return _undo_import(session, run_id, batch=batch, progress=progress, own=own)


def _undo_import(
    session: Session, run_id: int, *, batch: int, progress: Callable[[int], None] | None, own: bool
) -> dict[str, Any]:
    run = get_run(session, run_id)
    if run.status == "undone":
        raise Conflict(
            f"import {run_id} was undone already ({clock.show_local(run.undone_at)})"
            if run.undone_at
            else f"import {run_id} was undone already"
        )
    mark = (run.options or {}).get("process")
    if run.status == "running" and not own and not process_gone(mark):
        where = f"process {mark['pid']} on {mark['host']}" if mark else "another process"
        raise Conflict(f"import {run_id} is still running ({where}): undo it when it has finished or been stopped")
    state = dict((run.counts or {}).get("undo") or {})
    state.setdefault("phase", 0)
    state.setdefault("after", None)
    for key in ("removed", "restored", "kept_count", "done"):
        state.setdefault(key, 0)
    state.setdefault("kept", [])
    run.status = "undoing"
    run.counts = {**(run.counts or {}), "undo": state}
    session.add(run)
    session.commit()
    while state["phase"] < len(PHASES):
        session.refresh(run, with_for_update=True)  # PostgreSQL: one undoer at a time moves the cursor
        state = dict(run.counts["undo"])
        if state["phase"] >= len(PHASES):
            break
        phase = PHASES[state["phase"]]
        query = select(ImportChange).where(ImportChange.import_id == run_id)
        if phase == "restore":
            query = query.where(ImportChange.action != "created")
        else:
            query = query.where(ImportChange.entity == phase, ImportChange.action == "created")
        if state["after"] is not None:
            query = query.where(ImportChange.id < state["after"])
        changes = list(session.exec(query.order_by(ImportChange.id.desc()).limit(batch)))
        if not changes:
            state["phase"] += 1
            state["after"] = None
        else:
            kept = _restore_batch(session, changes) if phase == "restore" else _remove_batch(session, phase, changes)
            for entry in kept:
                state["kept_count"] += 1
                if len(state["kept"]) < KEPT_LISTED:
                    state["kept"] = [*state["kept"], entry]
            state["removed" if phase != "restore" else "restored"] += len(changes) - len(kept)
            state["after"] = changes[-1].id
            state["done"] += len(changes)
        run.counts = {**run.counts, "undo": state}
        session.add(run)
        session.commit()
        if changes and progress:
            progress(state["done"])
    run.status = "undone"
    run.undone_at = clock.now()
    session.add(run)
    session.commit()
    return {
        "removed": state["removed"],
        "restored": state["restored"],
        "kept": state["kept"],
        "kept_count": state["kept_count"],
    }


def _chunks(values: list[Any], size: int = 900) -> Iterable[list[Any]]:
    """IN lists small enough for any SQLite build's variable limit."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _ids_in(session: Session, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    """How many rows have COLUMN in IDS (and WHERE), per id."""
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        query = select(column, func.count()).where(column.in_(chunk), *where).group_by(column)
        for rid, n in session.exec(query):
            found[int(rid)] = int(n)
    return found


def _merged_away(session: Session, entity: str, ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        query = select(MergeRecord.merged_id, MergeRecord.kept_id).where(
            MergeRecord.entity == entity, MergeRecord.merged_id.in_(chunk)
        )
        for merged, kept in session.exec(query):
            found[int(merged)] = int(kept)
    return found


def _load(session: Session, model: Any, ids: list[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for record in session.exec(select(model).where(model.id.in_(chunk))):
            out[record.id] = record
    return out


def _later(value: datetime | None, mark: datetime | None) -> bool:
    return value is not None and mark is not None and value > mark


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _why_kept(session: Session, entity: str, ids: list[int]) -> dict[int, list[str]]:
    """For records an import created: what was added since that hangs on them, per id. Every
    table that points at a contact, company or deal is asked once for the whole batch."""
    why: dict[int, list[str]] = {}

    def note(found: dict[int, int], one: str, many: str) -> None:
        for rid, n in found.items():
            why.setdefault(rid, []).append(_plural(n, one, many))

    if entity in ("contact", "company", "deal"):
        column = {"contact": "contact_id", "company": "company_id", "deal": "deal_id"}[entity]
        note(_ids_in(session, getattr(Activity, column), ids), "activity", "activities")
        note(_ids_in(session, getattr(FollowUp, column), ids), "follow-up", "follow-ups")
        if entity != "deal":
            note(_ids_in(session, getattr(Deal, column), ids), "deal", "deals")
    if entity == "company":
        note(_ids_in(session, Contact.company_id, ids), "person", "people")
    if entity in ("contact", "company"):
        note(_ids_in(session, MergeRecord.kept_id, ids, MergeRecord.entity == entity), "record merged into it",
             "records merged into it")  # fmt: skip
    if entity == "deal":  # the import wrote one stage-history row; more are moves made since
        for chunk in _chunks(ids):
            query = (
                select(StageChange.deal_id, func.count())
                .where(StageChange.deal_id.in_(chunk))
                .group_by(StageChange.deal_id)
                .having(func.count() > 1)
            )
            for rid, n in session.exec(query):
                why.setdefault(int(rid), []).append(_plural(int(n) - 1, "stage move", "stage moves"))
    return why


def _remove_batch(session: Session, entity: str, changes: list[ImportChange]) -> list[dict[str, Any]]:
    """Remove the records these changes created, except those edited or hung upon since; returns
    the kept ones, and those gone already (merged into another record, or removed by someone)."""
    model = MODELS[entity]
    ids = [c.record_id for c in changes]
    stamp = getattr(model, "updated_at", model.created_at)  # activities are never edited: no updated_at
    records: dict[int, Any] = {}  # id → updated_at
    for chunk in _chunks(ids):
        records.update((int(rid), at) for rid, at in session.exec(select(model.id, stamp).where(model.id.in_(chunk))))
    kept: list[dict[str, Any]] = []
    missing = [i for i in ids if i not in records]
    if missing:
        merged = _merged_away(session, entity, missing) if entity in ("contact", "company") else {}
        for rid in missing:  # removed since (not by this undo: its cursor is past those)
            reason = (
                f"merged into #{merged[rid]} since the import: its data stays there"
                if rid in merged
                else "removed since the import"
            )
            kept.append({"entity": entity, "id": rid, "reason": reason})
    present = [c for c in changes if c.record_id in records]
    edited = {c.record_id for c in present if entity != "activity" and _later(records[c.record_id], c.after_updated_at)}
    hanging = _why_kept(session, entity, [c.record_id for c in present if c.record_id not in edited])
    doomed: list[int] = []
    for change in present:
        rid = change.record_id
        if rid in edited:
            kept.append({"entity": entity, "id": rid, "reason": "edited since the import: not removed"})
        elif rid in hanging:
            kept.append({"entity": entity, "id": rid, "reason": f"has {', '.join(hanging[rid])} since the import: "
                         "kept with them"})  # fmt: skip
        else:
            doomed.append(rid)
    docs, table = SearchDoc.__table__, model.__table__  # Core statements: nothing for the ORM to synchronise
    for chunk in _chunks(doomed):
        session.execute(delete(docs).where(docs.c.kind == entity, docs.c.ref_id.in_(chunk)))
        session.execute(delete(table).where(table.c.id.in_(chunk)))
    return kept


def _restore_batch(session: Session, changes: list[ImportChange]) -> list[dict[str, Any]]:
    """Put back what the changed records were, unless edited since; returns the records not restored."""
    kept: list[dict[str, Any]] = []
    by_entity: dict[str, list[ImportChange]] = {}
    for change in changes:
        by_entity.setdefault(change.entity, []).append(change)
    loaded = {e: _load(session, MODELS[e], [c.record_id for c in cs]) for e, cs in by_entity.items()}
    merged = {
        e: _merged_away(session, e, [c.record_id for c in cs if c.record_id not in loaded[e]])
        for e, cs in by_entity.items()
        if e in ("contact", "company")
    }
    contacts: list[tuple[Any, dict[str, Any]]] = []  # restored together, set-based
    for change in changes:
        record = loaded[change.entity].get(change.record_id)
        if record is None:
            into = merged.get(change.entity, {}).get(change.record_id)
            reason = (
                f"merged into #{into} since the import: its data stays there" if into else "removed since the import"
            )
            kept.append({"entity": change.entity, "id": change.record_id, "reason": reason})
            continue
        if _later(getattr(record, "updated_at", None), change.after_updated_at):
            kept.append({"entity": change.entity, "id": change.record_id,
                         "reason": "edited since the import: not restored"})  # fmt: skip
            continue
        if change.entity == "contact":
            contacts.append((record, change.before or {}))
        else:
            _restore(session, change.entity, record, change.before or {})
    _restore_contacts(session, contacts)
    return kept


def _restore_contacts(session: Session, items: list[tuple[Any, dict[str, Any]]]) -> None:
    """Contacts back to their snapshots, a batch at a time: one UPDATE per shape of snapshot, their
    emails, phones and tags replaced in bulk, their search documents rewritten together."""
    if not items:
        return
    from sqlalchemy import bindparam

    from crmcli.domain.indexing import reindex_contacts
    from crmcli.values.normalize import name_key

    # A contact changed by several rows of the file has several snapshots: the first is what it was.
    items = list({record.id: (record, before) for record, before in items}.values())  # ITEMS: newest first
    table = Contact.__table__
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record, before in items:
        values = {k: v for k, v in before.items() if k in table.c and k not in ("id", "updated_at")}
        values["name_key"] = name_key(before.get("name") or record.name)
        if "updated_at" in before:
            values["updated_at"] = datetime.fromisoformat(before["updated_at"])
        shapes.setdefault(tuple(sorted(values)), []).append({"b_id": record.id, **values})
        session.expunge(record)  # written below in bulk, not through the session
    for keys, rows in shapes.items():
        statement = table.update().where(table.c.id == bindparam("b_id")).values({k: bindparam(k) for k in keys})
        session.execute(statement, rows)
    ids = [record.id for record, _ in items]
    lists = (
        (ContactEmail.__table__, "email", "emails"),
        (ContactPhone.__table__, "phone", "phones"),
        (ContactTag.__table__, "tag", "tags"),
    )
    for model, column, key in lists:
        for chunk in _chunks(ids):
            session.execute(delete(model).where(model.c.contact_id.in_(chunk)))
        rows = []
        for record, before in items:
            for i, value in enumerate(before.get(key) or []):
                row = {"contact_id": record.id, column: value}
                if key != "tags":
                    row["is_primary"] = i == 0
                rows.append(row)
        if rows:
            session.execute(insert(model), rows)
    reindex_contacts(session, ids)


def _restore(session: Session, entity: str, record: Any, before: dict[str, Any]) -> None:
    """Put back what the snapshot of a company or deal held (contacts: _restore_contacts)."""
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
    if entity == "company":
        from crmcli.domain.indexing import reindex_company

        if "tags" in before:
            session.execute(delete(CompanyTag.__table__).where(CompanyTag.__table__.c.company_id == record.id))
            if before["tags"]:
                session.execute(
                    insert(CompanyTag.__table__), [{"company_id": record.id, "tag": t} for t in before["tags"]]
                )
        session.add(record)
        reindex_company(session, record)
    elif entity == "deal":
        from crmcli.domain.deals import move_deal
        from crmcli.domain.indexing import reindex_deal
        from crmcli.models import Stage

        if before.get("stage_id") and before["stage_id"] != record.stage_id:
            stage = session.get(Stage, before["stage_id"])
            if stage is not None:
                move_deal(session, record, stage, check_rules=False)
                record.updated_at = datetime.fromisoformat(before["updated_at"])
        session.add(record)
        reindex_deal(session, record)
    session.flush()
